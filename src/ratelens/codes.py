"""Billing codes as users type them and files write them: one normalisation for CLI, API and web."""

from __future__ import annotations

import re

from ratelens.errors import UsageError

# Any code type a rate file carries: CPT/HCPCS 77407, MS-DRG 470, revenue code 0333,
# NDC 00002-1433-80, ICD 81.54 (letters, digits, "." and "-", at most 20 characters).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,19}$"
_CODE_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")


def normalize_code(code: str) -> str:
    """Billing codes as the files write them: upper case, no surrounding spaces.

    Anything that is not letters and digits (and . or -), at most 20 characters, is a usage
    error.
    """
    normal = code.strip().upper()
    if not _CODE_SHAPE.match(normal):
        raise UsageError(
            f"{code!r} is not a billing code: expected letters and digits "
            "(and . or -), at most 20 characters, e.g. 77407 or G6008"
        )
    return normal
