"""Named SQL giving each rate row its own Medicare basis: one pass per report, not per row.

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

The locality of a row: its provider groups' NPIs (``provider_queries.NPI_CTES``) -> their
NPPES practice ZIP5 (a hospital row: the ZIPs of its file's ``hospital_address``, kept in
the ledger) -> the CMS ZIP file of the rate's year (else the latest loaded) -> carrier and
locality. Several localities: the one with most of the row's NPIs; a tie: the lower amount.
The amounts come from the registered table ``medicare_prices`` (one row per code, modifier,
locality and setting, priced by ``medicare.pfs.price_pfs``). All of it is worked out once
per distinct key of the rows (:data:`KEY_COLUMNS`: a report has few), then one UPDATE
fills the rows, joined on the key's hash.

An institutional row is compared with the OPPS national rate, or, when the user gave the
hospital's CBSA (``$cbsa``) and the year's OPPS wage index is loaded, with the wage-adjusted
rate of ``medicare_prices`` for that CBSA and the row's state (``locality``: the state whose
imputed floor applies, "" when the row does not say). A row of another state than the CBSA's
stays national, with the reason.
"""

from __future__ import annotations

from typing import Any

import duckdb

from ratelens.warehouse.provider_queries import NPI_CTES
from ratelens.warehouse.rate_queries import SELECTIONS, SETS, fetch

# Places of service CMS pays at the PFS facility rate (CMS PFS, "Facility and non-facility
# places of service"): hospital inpatient/outpatient/ER, ASC, SNF, hospice, inpatient
# psychiatric and rehabilitation facilities, community mental health centers, ...
FACILITY_POS = frozenset(
    {"21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
DOLLAR_TYPES = ("negotiated", "derived", "fee schedule")

ANY_ZIP = "SELECT 1 AS found FROM pfs_zip LIMIT 1"

# A CBSA's row of the year's OPPS wage index and the state rural rows (their imputed floors);
# the latest effective date of the year when a CBSA has several.
WAGE_INDEX = """
SELECT cbsa, name, states, geographic_wage_index, imputed_floor_wage_index
FROM opps_wage_index
WHERE year = $year AND (cbsa = $cbsa OR length(cbsa) = 2)
QUALIFY row_number() OVER (PARTITION BY cbsa ORDER BY effective_date DESC, locator) = 1
"""

REASONS = {
    "opps": "OPPS national unadjusted payment rate (the wage index is not applied)",
    "opps_no_wage_index": "OPPS national unadjusted payment rate: a CBSA was given but no "
    "OPPS wage index of the rate's year is loaded (CMS OPPS Pricer cbsa-wage-index-YYYY.csv)",
    "opps_cbsa_unknown": "OPPS national unadjusted payment rate: the CBSA given is not in the "
    "loaded OPPS wage index of the rate's year",
    "opps_other_state": "OPPS national unadjusted payment rate: the hospital's state is not one "
    "of the CBSA given",
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

# What decides a row's basis; rows sharing these share it (a report has few such keys).
KEY_COLUMNS = (
    "file_id", "provider_references", "service_code", "billing_code", "modifier_key",
    "rate_year", "billing_class", "source_kind", "negotiated_type", "state",
)  # fmt: skip
_KEY = f"hash({', '.join(KEY_COLUMNS)})"

# The distinct keys of the selected rows, each with its hash (the join key of the update)
# and its rows (KEY_REASONS; {n_rows}: count(*), or the sum of rate_sets' ``n``).
_KEYS = f"""
CREATE OR REPLACE TEMP TABLE basis_keys AS
SELECT *, {_KEY} AS basis_key FROM (
    SELECT {', '.join(KEY_COLUMNS)}, {{n_rows}} AS n_rows FROM {{table}} GROUP BY ALL)
"""

HAS_COLLISION = "SELECT count(*) <> count(DISTINCT basis_key) AS found FROM basis_keys"

_BASIS = r"""
CREATE OR REPLACE TEMP TABLE rate_basis AS
WITH keyed AS (
    SELECT k.*, coalesce(try_cast(k.rate_year AS INTEGER), $default_year) AS year,
           CASE WHEN k.billing_class = 'institutional'
                  OR (k.source_kind = 'hospital'
                      AND k.billing_class IS DISTINCT FROM 'professional')
                THEN 'opps' ELSE 'pfs' END AS basis,
           len(list_filter(coalesce(k.service_code, []),
                           lambda c: list_contains($facility_pos, c))) > 0 AS has_facility,
           len(list_filter(coalesce(k.service_code, []),
                           lambda c: NOT list_contains($facility_pos, c))) > 0 AS has_other,
           len(coalesce(k.provider_references, [])) > 0 AS has_groups
    FROM basis_keys k
    WHERE k.negotiated_type IN (SELECT unnest($dollar_types))
), settings AS (
    SELECT *,
           CASE WHEN basis = 'opps' THEN ''
                WHEN has_facility AND NOT has_other THEN 'facility'
                ELSE 'non-facility' END AS setting,
           CASE WHEN basis = 'opps' THEN NULL
                WHEN has_facility AND has_other THEN 'both'
                WHEN has_facility THEN 'facility'
                ELSE 'non-facility' END AS medicare_setting
    FROM keyed
), ref_groups AS (  -- each distinct provider_references list of a file, and its groups
    SELECT DISTINCT file_id, provider_references,
           unnest(provider_references) AS provider_group_id
    FROM settings WHERE basis = 'pfs' AND has_groups
), used_groups AS (
    SELECT DISTINCT file_id, provider_group_id FROM ref_groups
)
""" + NPI_CTES + r"""
, ref_npis AS (
    SELECT r.file_id, r.provider_references, g.npi, n.zip5,
           coalesce(len(n.taxonomies), 0) > 0 AS is_registered
    FROM ref_groups r
    JOIN group_npis g USING (file_id, provider_group_id)
    LEFT JOIN registry n ON n.npi = g.npi
), npi_status AS (
    SELECT file_id, provider_references, count(npi) AS n_npis,
           count(npi) FILTER (WHERE is_registered) AS n_found
    FROM ref_npis GROUP BY ALL
), hospital_zips AS (  -- a hospital's own address ZIP(s), kept in its file's ledger meta
    SELECT h.file_id, unnest(regexp_extract_all(
               json_extract_string(l.meta, '$.hospital_address'),
               '\b[A-Z]{2}\.?,?\s+(\d{5})(?:-\d{4})?\b', 1)) AS zip5
    FROM (SELECT DISTINCT file_id FROM settings WHERE source_kind = 'hospital') h
    JOIN ledger l USING (file_id)
), key_zips AS (  -- who is paid, and where: NPIs of insurer rows, addresses of hospital rows
    SELECT p.basis_key, p.year, CAST(n.npi AS VARCHAR) AS who, n.zip5
    FROM settings p JOIN ref_npis n
      ON n.file_id = p.file_id AND n.provider_references = p.provider_references
    WHERE p.basis = 'pfs' AND n.is_registered AND n.zip5 IS NOT NULL
    UNION ALL
    SELECT p.basis_key, p.year, h.zip5 AS who, h.zip5
    FROM settings p JOIN hospital_zips h ON h.file_id = p.file_id
    WHERE p.basis = 'pfs' AND p.source_kind = 'hospital'
), zip_localities AS (  -- the ZIP file of the rate's year, else the latest loaded
    SELECT w.year, w.zip5, z.carrier AS mac, z.locality
    FROM (SELECT DISTINCT year, zip5 FROM key_zips) w JOIN pfs_zip z ON z.zip5 = w.zip5
    QUALIFY row_number() OVER (PARTITION BY w.year, w.zip5
        ORDER BY (z.year = w.year) DESC, z.year_quarter DESC) = 1
), key_localities AS (
    SELECT r.basis_key, z.mac, z.locality, count(DISTINCT r.who) AS n_npis
    FROM key_zips r JOIN zip_localities z ON z.zip5 = r.zip5 AND z.year = r.year
    GROUP BY ALL
), ranked AS (
    SELECT l.basis_key, l.mac, l.locality, m.label, m.amount,
           count(*) OVER (PARTITION BY l.basis_key) AS n_localities,
           row_number() OVER (PARTITION BY l.basis_key
               ORDER BY l.n_npis DESC, m.amount ASC NULLS LAST, l.mac, l.locality) AS rank
    FROM key_localities l
    JOIN settings p USING (basis_key)
    LEFT JOIN medicare_prices m
      ON m.year = p.year AND m.billing_code = p.billing_code
     AND m.modifier_key = p.modifier_key AND m.basis = 'pfs' AND m.setting = p.setting
     AND m.mac = l.mac AND m.locality = l.locality
), chosen AS (
    SELECT *, label IS NOT NULL AND amount IS NOT NULL AS is_local FROM ranked WHERE rank = 1
), based AS (
    SELECT p.basis_key, p.basis AS medicare_basis, p.medicare_setting,
           nat.amount AS medicare_amount_national,
           coalesce(c.is_local, w.amount IS NOT NULL) AS is_local_basis,
           coalesce(c.n_localities, CASE WHEN w.amount IS NOT NULL THEN 1 END, 0)
               AS medicare_n_localities,
           CASE WHEN c.is_local THEN c.amount ELSE coalesce(w.amount, nat.amount) END
               AS medicare_amount,
           CASE WHEN c.is_local THEN c.label ELSE coalesce(w.label, 'national') END
               AS medicare_locality,
           CASE WHEN c.is_local OR w.amount IS NOT NULL THEN NULL
                WHEN p.basis = 'opps' THEN
                     CASE WHEN $cbsa = '' THEN 'opps'
                          WHEN NOT list_contains(CAST($wage_index_years AS INTEGER[]), p.year)
                          THEN 'opps_no_wage_index'
                          WHEN NOT list_contains(CAST($cbsa_years AS INTEGER[]), p.year)
                          THEN 'opps_cbsa_unknown'
                          WHEN p.state IS NOT NULL AND nat.amount IS NOT NULL
                          THEN 'opps_other_state'
                          ELSE 'opps' END
                WHEN p.source_kind = 'hospital' AND hz.file_id IS NULL THEN 'hospital'
                WHEN p.source_kind = 'hospital' THEN
                     CASE WHEN NOT $zip_loaded THEN 'no_zip_file' ELSE 'zip_unknown' END
                WHEN NOT p.has_groups THEN 'no_groups'
                WHEN coalesce(st.n_npis, 0) = 0 THEN 'tin_only'
                WHEN NOT $nppes_loaded THEN 'no_nppes'
                WHEN st.n_found = 0 THEN 'not_in_nppes'
                WHEN NOT $zip_loaded THEN 'no_zip_file'
                WHEN c.basis_key IS NULL THEN 'zip_unknown'
                ELSE 'no_gpci' END AS reason_key,
           CASE WHEN p.medicare_setting = 'both' THEN
                CASE WHEN c.is_local THEN fac.amount ELSE natfac.amount END
           END AS medicare_amount_facility
    FROM settings p
    LEFT JOIN chosen c USING (basis_key)
    LEFT JOIN npi_status st
      ON st.file_id = p.file_id AND st.provider_references = p.provider_references
    LEFT JOIN (SELECT DISTINCT file_id FROM hospital_zips) hz ON hz.file_id = p.file_id
    LEFT JOIN medicare_prices w  -- OPPS wage-adjusted for the CBSA given, by the row's state
      ON p.basis = 'opps' AND $cbsa <> '' AND w.year = p.year
     AND w.billing_code = p.billing_code AND w.modifier_key = p.modifier_key
     AND w.basis = 'opps' AND w.mac = $cbsa AND w.locality = coalesce(p.state, '')
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
SELECT b.* EXCLUDE (reason_key), r.reason AS medicare_locality_reason
FROM based b LEFT JOIN reasons r USING (reason_key)
"""

# The columns each row gains (name, type), in the order the rate export shows them.
BASIS_COLUMNS = (
    ("medicare_basis", "VARCHAR"), ("medicare_setting", "VARCHAR"),
    ("medicare_amount", "DOUBLE"), ("pct_of_medicare", "DOUBLE"),
    ("medicare_locality", "VARCHAR"), ("medicare_locality_reason", "VARCHAR"),
    ("medicare_n_localities", "INTEGER"), ("medicare_amount_facility", "DOUBLE"),
    ("pct_of_medicare_facility", "DOUBLE"), ("medicare_amount_national", "DOUBLE"),
    ("pct_of_medicare_national", "DOUBLE"), ("is_local_basis", "BOOLEAN"),
)  # fmt: skip
# The ones a report's statistics and data gaps read (the export takes them all).
REPORT_COLUMNS = (
    "medicare_setting", "pct_of_medicare", "medicare_locality", "medicare_locality_reason",
    "pct_of_medicare_national", "is_local_basis",
)  # fmt: skip
_PCT = {  # percentage column -> the amount it is of
    "pct_of_medicare": "medicare_amount",
    "pct_of_medicare_facility": "medicare_amount_facility",
    "pct_of_medicare_national": "medicare_amount_national",
}


def _value(table: str, name: str) -> str:
    """A basis column's value for a row of ``table`` (``rate_basis`` as ``b``): a percentage
    of its amount is worked out from the row's own rate."""
    return (f"{table}.negotiated_rate / nullif(b.{_PCT[name]}, 0) * 100" if name in _PCT
            else f"b.{name}")


def _update(table: str, columns: tuple[str, ...], is_exact: bool) -> str:
    """Fill ``columns`` of ``table`` from ``rate_basis``, one pass over the rows."""
    sets = ", ".join(f"{name} = {_value(table, name)}" for name in columns)
    if is_exact:
        source, where = _exact_join(table)
        return f"UPDATE {table} SET {sets} FROM {source} WHERE {where}"
    return f"UPDATE {table} SET {sets} FROM rate_basis b WHERE b.basis_key = {_KEY}"


def _exact_join(table: str) -> tuple[str, str]:
    """``rate_basis`` with its keys' columns (as ``b``), and the condition matching a row of
    ``table`` on every key column: the join when two keys share a hash."""
    on = " AND ".join(f"b.{c} IS NOT DISTINCT FROM {table}.{c}" for c in KEY_COLUMNS)
    return "(SELECT * FROM rate_basis JOIN basis_keys USING (basis_key)) b", on


def attach_basis(con: duckdb.DuckDBPyConnection, table: str, bound: dict[str, Any],
                 columns: tuple[str, ...] | None = None, *, is_exact: bool = False) -> None:
    """Add the basis columns of the module doc to ``table`` (``columns``: only those).

    Works on the distinct keys of the rows (:data:`KEY_COLUMNS`), then fills the rows in one
    update, joined on the key's hash; on every key column when two keys share a hash (or
    ``is_exact``). Needs the registered ``medicare_prices`` table; ``bound``: default_year,
    facility_pos, dollar_types, nppes_loaded, zip_loaded, and for institutional rows cbsa
    ("" none), wage_index_years, cbsa_years.
    """
    columns = columns or tuple(dict(BASIS_COLUMNS))
    is_exact = _basis(con, table, bound, is_exact)
    kinds = dict(BASIS_COLUMNS)
    for name in columns:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kinds[name]}")
    con.execute(_update(table, columns, is_exact))


def basis_select(con: duckdb.DuckDBPyConnection, table: str, bound: dict[str, Any],
                 columns: tuple[str, ...], *, is_exact: bool = False) -> str:
    """The SELECT of ``table``'s rows with the basis ``columns`` :func:`attach_basis` would
    add (the same values and types), leaving ``table`` as it is: a join read once, no update
    of every row (1 M rows: ~0.4 s of CPU less)."""
    return _joined(table, columns, _basis(con, table, bound, is_exact))


def basis_view(con: duckdb.DuckDBPyConnection, table: str, bound: dict[str, Any],
               columns: tuple[str, ...], *, is_exact: bool = False) -> bool:
    """Make ``table`` a view of its rows (the table renamed ``{table}_rows``) with the basis
    ``columns`` :func:`attach_basis` would add (the same values and types): no update of
    every row (1 M rows: ~1 s of CPU less; a query reading the view joins the basis again,
    so only for a selection read by few queries of these columns: rate_queries.GROUP_STATS
    in a report). Whether the basis is joined on every key column (two keys share a hash):
    if not, :data:`KEY_REASONS` gives :func:`national_reasons` of ``table`` without a join."""
    is_exact = _basis(con, table, bound, is_exact)
    con.execute(f"ALTER TABLE {table} RENAME TO {table}_rows")
    con.execute(f"CREATE TEMP VIEW {table} AS {_joined(f'{table}_rows', columns, is_exact)}")
    return is_exact


# What rate_sets.indexed reads of each set's basis: its rows' percentages are of its amounts.
SET_COLUMNS = (
    "medicare_setting", "medicare_amount", "medicare_locality", "medicare_locality_reason",
    "medicare_amount_national", "is_local_basis",
)  # fmt: skip


def set_basis(con: duckdb.DuckDBPyConnection, bound: dict[str, Any]) -> str:
    """The SELECT of ``rate_sets`` (``rate_queries.SETS``) with the basis columns of its rows
    (:data:`SET_COLUMNS`): those :func:`basis_view` joins to every row, joined to each set
    (its rows share the key) the same way (see :func:`attach_basis` for ``bound``)."""
    return _joined(SETS, SET_COLUMNS, _basis(con, SETS, bound, False))


def _joined(table: str, columns: tuple[str, ...], is_exact: bool) -> str:
    """The SELECT of ``table``'s rows joined with ``rate_basis``: its basis ``columns``."""
    kinds = dict(BASIS_COLUMNS)
    added = ", ".join(f"CAST({_value(table, name)} AS {kinds[name]}) AS {name}"
                      for name in columns)
    if is_exact:
        source, on = _exact_join(table)
    else:
        on = f"b.basis_key = hash({', '.join(f'{table}.{c}' for c in KEY_COLUMNS)})"
        source = "rate_basis b"
    return f"SELECT {table}.*, {added} FROM {table} LEFT JOIN {source} ON {on}"


def _basis(con: duckdb.DuckDBPyConnection, table: str, bound: dict[str, Any],
           is_exact: bool) -> bool:
    """The ``rate_basis`` of ``table``'s keys (see :func:`attach_basis`); whether it must be
    joined on every key column (two keys share a hash, or ``is_exact``)."""
    bound = {"cbsa": "", "wage_index_years": [], "cbsa_years": [], **bound}
    if table not in (*SELECTIONS, SETS):
        raise ValueError(f"unknown selection table {table!r}")
    n_rows = "CAST(sum(n) AS BIGINT)" if table == SETS else "count(*)"
    con.execute(_KEYS.format(table=table, n_rows=n_rows))
    con.execute("CREATE OR REPLACE TEMP TABLE reasons AS SELECT * FROM (VALUES "
                + ", ".join("(?, ?)" for _ in REASONS) + ") t(reason_key, reason)",
                [x for kv in REASONS.items() for x in kv])
    con.execute(_BASIS, {k: v for k, v in bound.items() if f"${k}" in _BASIS})
    return is_exact or bool(con.execute(HAS_COLLISION).fetchall()[0][0])


def national_reasons(table: str) -> str:
    """Dollar rows of ``table`` compared with a national amount, counted by reason."""
    if table not in SELECTIONS:
        raise ValueError(f"unknown selection table {table!r}")
    return f"""
        SELECT medicare_locality_reason AS reason, count(*) AS n FROM {table}
        WHERE medicare_locality_reason IS NOT NULL
        GROUP BY ALL ORDER BY n DESC, reason
    """


# national_reasons of the selection from its keys' rows (``basis_keys.n_rows``): no pass over
# the rows; only when no two keys share a hash (rate_basis is keyed by the hash alone).
KEY_REASONS = """
SELECT b.medicare_locality_reason AS reason, CAST(sum(k.n_rows) AS BIGINT) AS n
FROM basis_keys k JOIN rate_basis b USING (basis_key)
WHERE b.medicare_locality_reason IS NOT NULL
GROUP BY ALL ORDER BY n DESC, reason
"""

# The years of the selected rows (their files' last_updated_on), to price each at its year.
RATE_YEARS = "SELECT DISTINCT try_cast(rate_year AS INTEGER) AS year FROM selection"

# The rate export: the selected rows with their basis columns, internal columns left out.
EXPORT_ROWS = """
SELECT * EXCLUDE (modifier_key, rate_year, last_updated_on, is_local_basis)
FROM selection
ORDER BY billing_code, payer, negotiated_rate, file_id, locator
"""


__all__ = ["ANY_ZIP", "BASIS_COLUMNS", "EXPORT_ROWS", "FACILITY_POS", "KEY_COLUMNS", "KEY_REASONS",
           "RATE_YEARS", "REPORT_COLUMNS", "SET_COLUMNS", "WAGE_INDEX", "attach_basis",
           "basis_select", "basis_view", "fetch", "national_reasons", "set_basis"]
