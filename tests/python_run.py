"""A piece of Python run in a fresh interpreter (what a command imports and does from cold)."""

from __future__ import annotations

import subprocess
import sys


def run_code(code: str, *, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -c code``: its output, once it exited 0 (else the test fails on its stderr)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done
