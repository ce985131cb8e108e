"""The rate row: one negotiated price, the shape every rate source yields.

Insurer (Transparency-in-Coverage) and hospital standard-charge files both become rows of
:data:`RATE_SCHEMA`; names follow the CMS field names where one exists. Every row keeps
``file_id`` (sha256 of the source file) and ``locator`` (where in that file it came from).
Columns a source does not have stay null.
"""

from __future__ import annotations

import pyarrow as pa

_str = pa.string()
_strs = pa.list_(pa.string())

RATE_SCHEMA = pa.schema(
    [
        # where it came from
        ("source_kind", _str),  # "tic" | "hospital" | "synthetic"
        ("file_id", _str),  # sha256 hex of the source file
        ("locator", _str),  # e.g. "in_network[12].negotiated_rates[0].negotiated_prices[1]"
        # who publishes / pays
        ("payer", _str),  # canonical payer name
        ("payer_raw", _str),  # as written in the file
        ("reporting_entity_type", _str),
        ("plan_name", _str),
        ("plan_id", _str),
        ("plan_id_type", _str),
        ("plan_market_type", _str),
        ("issuer_name", _str),
        ("network_name", _strs),
        ("last_updated_on", _str),
        # what is priced
        ("billing_code", _str),
        ("billing_code_type", _str),
        ("billing_code_type_version", _str),
        ("description", _str),
        ("billing_code_modifier", _strs),
        ("negotiation_arrangement", _str),  # ffs | bundle | capitation
        ("bundled_codes", _strs),  # "TYPE:CODE" of bundled_codes / covered_services
        # the price
        ("negotiated_type", _str),  # negotiated | derived | fee schedule | percentage | per diem
        ("negotiated_rate", pa.float64()),  # dollars, or percent 0-100 for percentage
        ("expiration_date", _str),
        ("billing_class", _str),  # professional | institutional | both
        ("setting", _str),  # inpatient | outpatient | both
        ("service_code", _strs),  # place-of-service codes
        ("additional_information", _str),
        # who is paid
        # provider_group_id values of the file's provider_groups table (TINs, NPIs there)
        ("provider_references", _strs),
        ("state", _str),  # two-letter state where known (hospital address, NPPES)
        # hospital standard charges (null for insurer files)
        ("hospital_name", _str),
        ("negotiated_percentage", pa.float64()),
        ("negotiated_algorithm", _str),
        ("estimated_amount", pa.float64()),
        ("methodology", _str),
        ("gross_charge", pa.float64()),
        ("discounted_cash", pa.float64()),
        ("deidentified_min", pa.float64()),
        ("deidentified_max", pa.float64()),
        ("notes", _str),
        # added later (appended so older Parquet parts still line up by name)
        ("payer_family", _str),  # "Blue Cross Blue Shield" for every BCBS licensee; null: unmapped
        ("payer_plan", _str),  # what the payer name says beyond its family ("CAP", "Blue Choice")
        ("line_of_business", _str),  # "Medicare Advantage", "Medicaid managed care", ...
        # hospital v3 allowed amounts, named as in the CMS template (dollars; count as text:
        # "0", "1 through 10" or a whole number)
        ("median_amount", pa.float64()),
        ("10th_percentile", pa.float64()),
        ("90th_percentile", pa.float64()),
        ("count", _str),
    ]
)

# Dollars for one service beyond which a value is implausible: loaded with a warning, flagged
# as an outlier and left out of statistics (a value that is not finite is refused).
PLAUSIBLE_MAX = 10_000_000


def rate_batch(rows: list[dict[str, object]]) -> pa.RecordBatch:
    """Build a :data:`RATE_SCHEMA` batch from row dicts (missing keys become null)."""
    return pa.RecordBatch.from_pylist(rows, schema=RATE_SCHEMA)
