"""Where the public sample files of ../shared/data are: one place for every test.

CI clones the repository with ``shared/`` beside it; ``RATELENS_SHARED`` points elsewhere
(e.g. when a clone lives in /tmp).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RATELENS_SHARED", REPO.parent / "shared")) / "data"
