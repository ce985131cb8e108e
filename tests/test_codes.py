"""Billing codes are normalized as the files write them; what is not a code is a usage error."""

from __future__ import annotations

import pytest

from ratelens.codes import normalize_code
from ratelens.errors import UsageError


@pytest.mark.parametrize(("raw", "normal"), [
    ("77407", "77407"), (" g6008 ", "G6008"), ("470", "470"), ("0333", "0333"),
    ("00002-1433-80", "00002-1433-80"), ("81.54", "81.54"), ("cstm-00", "CSTM-00"),
])
def test_any_code_type_a_rate_file_carries(raw: str, normal: str) -> None:
    assert normalize_code(raw) == normal


@pytest.mark.parametrize("raw", ["<script>", "", "77 407", "-77407", "7" * 21, "77407;drop"])
def test_what_is_not_a_code_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError, match="is not a billing code"):
        normalize_code(raw)
