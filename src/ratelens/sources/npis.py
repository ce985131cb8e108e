"""Provider groups and their NPIs, kept apart from rate rows (never exploded into them).

A rate row's ``provider_references`` holds ``provider_group_id`` values of the same file;
``provider_groups`` has one row per (group, TIN) and ``provider_npis`` one row per NPI.
"""

from __future__ import annotations

import pyarrow as pa

PROVIDER_GROUP_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("locator", pa.string()),
        ("provider_group_id", pa.string()),
        ("network_name", pa.list_(pa.string())),
        ("tin_type", pa.string()),  # ein | npi
        ("tin_value", pa.string()),
        ("business_name", pa.string()),
        ("n_npi", pa.int64()),  # 0 when the contract is TIN-only (npi [0])
    ]
)

NPI_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("provider_group_id", pa.string()),
        ("tin_value", pa.string()),
        ("npi", pa.string()),
    ]
)
