"""The provider-group NPI table: NPIs kept apart from rate rows (never exploded into them)."""

from __future__ import annotations

import pyarrow as pa

NPI_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("provider_group_id", pa.string()),
        ("npi", pa.string()),
    ]
)
