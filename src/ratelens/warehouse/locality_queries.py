"""Named SQL giving each rate row its own Medicare basis: one join per report, not per row.

``attach_basis`` adds to a report's selection table (``rate_queries.SELECTIONS``), per row:

- ``medicare_basis``: ``pfs`` (professional rows) or ``opps`` (institutional rows, and
  hospital rows that are not marked professional);
- ``medicare_setting``: ``facility`` when the row's places of service (``service_code``)
  are all ones CMS prices at the facility rate (:data:`FACILITY_POS`), ``non-facility``
  otherwise, ``both`` when it lists both kinds (then ``medicare_amount`` is the
  non-facility amount and ``medicare_amount_facility`` the facility one);
- ``medicare_locality``: "13202-01 NY MANHATTAN" or "national", with
  ``medicare_locality_reason`` saying why national; ``medicare_n_localities``: how many
  localities the row's NPIs practise in;
- ``medicare_amount``, ``pct_of_medicare`` (rate / amount x 100), and the same against the
  national amount of the same setting (``medicare_amount_national``,
  ``pct_of_medicare_national``).

The locality of a row: its provider groups' NPIs (``provider_queries.links``) -> their NPPES
practice ZIP5 (a hospital row: the ZIPs of its file's ``hospital_address``, kept in the
ledger) -> the CMS ZIP file of the rate's year (else the latest loaded) -> carrier and
locality. Several localities: the one with most of the row's NPIs; a tie: the lower amount.
The amounts come from the registered table ``medicare_prices`` (one row per code, modifier,
locality and setting, priced by ``medicare.pfs.price_pfs``).
"""

from __future__ import annotations

from typing import Any

import duckdb

from ratelens.warehouse.provider_queries import links
from ratelens.warehouse.rate_queries import SELECTIONS, fetch

# Places of service CMS pays at the PFS facility rate (CMS PFS, "Facility and non-facility
# places of service"): hospital inpatient/outpatient/ER, ASC, SNF, hospice, inpatient
# psychiatric and rehabilitation facilities, community mental health centers, ...
FACILITY_POS = frozenset(
    {"21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
DOLLAR_TYPES = ("negotiated", "derived", "fee schedule")

ANY_ZIP = "SELECT 1 AS found FROM pfs_zip LIMIT 1"

REASONS = {
    "opps": "OPPS national unadjusted payment rate (the wage index is not applied)",
    "hospital": "hospital professional row: no ZIP code in the hospital_address of its file",
    "no_groups": "no provider group on the rate row",
    "tin_only": "TIN-only provider groups (npi [0]): no NPI to locate",
    "no_nppes": "NPPES not loaded: load an NPPES data file (npidata_pfile_*.csv)",
    "not_in_nppes": "the NPIs are not in the loaded NPPES file",
    "no_zip_file": "the CMS ZIP-to-locality file (ZIP5_*.txt) is not loaded",
    "zip_unknown": "the practice ZIP codes (NPPES, or the hospital's address) are not in the "
    "loaded ZIP-to-locality file",
    "no_gpci": "no GPCIs loaded for the rate's year: load the year's GPCI file",
}

_BASIS = r"""
, priced_rows AS (
    SELECT s.row_id, s.file_id, s.locator, s.billing_code, s.modifier_key, s.negotiated_rate,
           s.source_kind, coalesce(try_cast(s.rate_year AS INTEGER), $default_year) AS year,
           CASE WHEN s.billing_class = 'institutional'
                  OR (s.source_kind = 'hospital'
                      AND s.billing_class IS DISTINCT FROM 'professional')
                THEN 'opps' ELSE 'pfs' END AS basis,
           len(list_filter(coalesce(s.service_code, []),
                           lambda c: list_contains($facility_pos, c))) > 0 AS has_facility,
           len(list_filter(coalesce(s.service_code, []),
                           lambda c: NOT list_contains($facility_pos, c))) > 0 AS has_other,
           len(coalesce(s.provider_references, [])) > 0 AS has_groups
    FROM selected s
    WHERE s.negotiated_type IN (SELECT unnest($dollar_types))
), settings AS (
    SELECT *,
           CASE WHEN basis = 'opps' THEN ''
                WHEN has_facility AND NOT has_other THEN 'facility'
                ELSE 'non-facility' END AS setting,
           CASE WHEN basis = 'opps' THEN NULL
                WHEN has_facility AND has_other THEN 'both'
                WHEN has_facility THEN 'facility'
                ELSE 'non-facility' END AS medicare_setting
    FROM priced_rows
), npi_status AS (
    SELECT file_id, locator, count(npi) AS n_npis,
           count(npi) FILTER (WHERE is_registered) AS n_found
    FROM rate_npis GROUP BY ALL
), hospital_zips AS (  -- a hospital's own address ZIP(s), kept in its file's ledger meta
    SELECT h.file_id, unnest(regexp_extract_all(
               json_extract_string(l.meta, '$.hospital_address'),
               '\b[A-Z]{2}\.?,?\s+(\d{5})(?:-\d{4})?\b', 1)) AS zip5
    FROM (SELECT DISTINCT file_id FROM selected WHERE source_kind = 'hospital') h
    JOIN ledger l USING (file_id)
), row_zips AS (  -- who is paid, and where: NPIs of insurer rows, addresses of hospital rows
    SELECT p.row_id, p.year, CAST(n.npi AS VARCHAR) AS who, n.zip5
    FROM settings p JOIN rate_npis n USING (file_id, locator)
    WHERE p.basis = 'pfs' AND n.is_registered AND n.zip5 IS NOT NULL
    UNION ALL
    SELECT p.row_id, p.year, h.zip5 AS who, h.zip5
    FROM settings p JOIN hospital_zips h USING (file_id)
    WHERE p.basis = 'pfs' AND p.source_kind = 'hospital'
), zip_localities AS (  -- the ZIP file of the rate's year, else the latest loaded
    SELECT w.year, w.zip5, z.carrier AS mac, z.locality
    FROM (SELECT DISTINCT year, zip5 FROM row_zips) w JOIN pfs_zip z ON z.zip5 = w.zip5
    QUALIFY row_number() OVER (PARTITION BY w.year, w.zip5
        ORDER BY (z.year = w.year) DESC, z.year_quarter DESC) = 1
), row_localities AS (
    SELECT r.row_id, z.mac, z.locality, count(DISTINCT r.who) AS n_npis
    FROM row_zips r JOIN zip_localities z ON z.zip5 = r.zip5 AND z.year = r.year
    GROUP BY ALL
), ranked AS (
    SELECT l.row_id, l.mac, l.locality, m.label, m.amount,
           count(*) OVER (PARTITION BY l.row_id) AS n_localities,
           row_number() OVER (PARTITION BY l.row_id
               ORDER BY l.n_npis DESC, m.amount ASC NULLS LAST, l.mac, l.locality) AS rank
    FROM row_localities l
    JOIN settings p USING (row_id)
    LEFT JOIN medicare_prices m
      ON m.year = p.year AND m.billing_code = p.billing_code
     AND m.modifier_key = p.modifier_key AND m.basis = 'pfs' AND m.setting = p.setting
     AND m.mac = l.mac AND m.locality = l.locality
), chosen AS (
    SELECT * FROM ranked WHERE rank = 1
), based AS (
    SELECT p.row_id, p.basis AS medicare_basis, p.medicare_setting, p.negotiated_rate,
           nat.amount AS national_amount,
           c.label IS NOT NULL AND c.amount IS NOT NULL AS is_local,
           coalesce(c.n_localities, 0) AS medicare_n_localities,
           CASE WHEN c.label IS NOT NULL AND c.amount IS NOT NULL THEN c.amount
                ELSE nat.amount END AS medicare_amount,
           CASE WHEN c.label IS NOT NULL AND c.amount IS NOT NULL THEN c.label
                ELSE 'national' END AS medicare_locality,
           CASE WHEN c.label IS NOT NULL AND c.amount IS NOT NULL THEN NULL
                WHEN p.basis = 'opps' THEN 'opps'
                WHEN p.source_kind = 'hospital' AND hz.file_id IS NULL THEN 'hospital'
                WHEN p.source_kind = 'hospital' THEN
                     CASE WHEN NOT $zip_loaded THEN 'no_zip_file' ELSE 'zip_unknown' END
                WHEN NOT p.has_groups THEN 'no_groups'
                WHEN coalesce(st.n_npis, 0) = 0 THEN 'tin_only'
                WHEN NOT $nppes_loaded THEN 'no_nppes'
                WHEN st.n_found = 0 THEN 'not_in_nppes'
                WHEN NOT $zip_loaded THEN 'no_zip_file'
                WHEN c.row_id IS NULL THEN 'zip_unknown'
                ELSE 'no_gpci' END AS reason_key,
           CASE WHEN p.medicare_setting = 'both' THEN
                CASE WHEN c.label IS NOT NULL AND c.amount IS NOT NULL THEN fac.amount
                     ELSE natfac.amount END END AS medicare_amount_facility
    FROM settings p
    LEFT JOIN chosen c USING (row_id)
    LEFT JOIN npi_status st USING (file_id, locator)
    LEFT JOIN (SELECT DISTINCT file_id FROM hospital_zips) hz USING (file_id)
    LEFT JOIN medicare_prices nat
      ON nat.year = p.year AND nat.billing_code = p.billing_code
     AND nat.modifier_key = p.modifier_key AND nat.basis = p.basis
     AND nat.setting = p.setting AND nat.mac = ''
    LEFT JOIN medicare_prices fac
      ON fac.year = p.year AND fac.billing_code = p.billing_code
     AND fac.modifier_key = p.modifier_key AND fac.basis = 'pfs' AND fac.setting = 'facility'
     AND fac.mac = c.mac AND fac.locality = c.locality
    LEFT JOIN medicare_prices natfac
      ON natfac.year = p.year AND natfac.billing_code = p.billing_code
     AND natfac.modifier_key = p.modifier_key AND natfac.basis = 'pfs'
     AND natfac.setting = 'facility' AND natfac.mac = ''
)
SELECT row_id, medicare_basis, medicare_setting, medicare_amount, medicare_locality,
       reason_key AS medicare_reason_key, medicare_n_localities, is_local AS is_local_basis,
       negotiated_rate / nullif(medicare_amount, 0) * 100 AS pct_of_medicare,
       medicare_amount_facility,
       negotiated_rate / nullif(medicare_amount_facility, 0) * 100 AS pct_of_medicare_facility,
       national_amount AS medicare_amount_national,
       negotiated_rate / nullif(national_amount, 0) * 100 AS pct_of_medicare_national
FROM based
"""

BASIS_COLUMNS = (
    "medicare_basis", "medicare_setting", "medicare_amount", "medicare_locality",
    "medicare_locality_reason", "medicare_n_localities", "pct_of_medicare",
    "medicare_amount_facility", "pct_of_medicare_facility", "medicare_amount_national",
    "pct_of_medicare_national",
)  # fmt: skip


# The years of the selected rows (their files' last_updated_on), to price each at its year.
RATE_YEARS = "SELECT DISTINCT try_cast(rate_year AS INTEGER) AS year FROM selection"

# The rate export: the selected rows with their basis columns, internal columns left out.
EXPORT_ROWS = """
SELECT * EXCLUDE (row_id, modifier_key, rate_year, last_updated_on, is_local_basis)
FROM selection
ORDER BY billing_code, payer, negotiated_rate, file_id, locator
"""


def attach_basis(con: duckdb.DuckDBPyConnection, table: str, bound: dict[str, Any]) -> None:
    """Rewrite ``table`` with a ``row_id`` and the basis columns of the module doc.

    Needs the registered ``medicare_prices`` table; ``bound``: default_year,
    facility_pos, dollar_types, nppes_loaded, zip_loaded.
    """
    if table not in SELECTIONS:
        raise ValueError(f"unknown selection table {table!r}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                f"SELECT *, row_number() OVER () AS row_id FROM {table}")
    sql = f"CREATE OR REPLACE TEMP TABLE rate_basis AS {links(table)}{_BASIS}"
    con.execute(sql, {k: v for k, v in bound.items() if f"${k}" in sql})
    con.execute("CREATE OR REPLACE TEMP TABLE reasons AS SELECT * FROM (VALUES "
                + ", ".join("(?, ?)" for _ in REASONS) + ") t(reason_key, reason)",
                [x for kv in REASONS.items() for x in kv])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT s.*, b.* EXCLUDE (row_id, medicare_reason_key, is_local_basis),
               r.reason AS medicare_locality_reason, coalesce(b.is_local_basis, false)
               AS is_local_basis
        FROM {table} s
        LEFT JOIN rate_basis b USING (row_id)
        LEFT JOIN reasons r ON r.reason_key = b.medicare_reason_key
        ORDER BY s.row_id
    """)


def national_reasons(table: str) -> str:
    """Dollar rows of ``table`` compared with a national amount, counted by reason."""
    if table not in SELECTIONS:
        raise ValueError(f"unknown selection table {table!r}")
    return f"""
        SELECT medicare_locality_reason AS reason, count(*) AS n FROM {table}
        WHERE medicare_locality_reason IS NOT NULL
        GROUP BY ALL ORDER BY n DESC, reason
    """


__all__ = ["ANY_ZIP", "BASIS_COLUMNS", "EXPORT_ROWS", "FACILITY_POS", "RATE_YEARS",
           "attach_basis", "fetch", "national_reasons"]
