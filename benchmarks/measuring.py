"""What every benchmark script measures the same way (imported by the scripts beside it)."""

from __future__ import annotations

import resource


def cpu(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds of this process (all threads) or of its children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime
