"""Named SQL over the rate tables (parameters bound, never formatted in).

Statistics use DuckDB's ``quantile_cont`` (linear interpolation between closest ranks,
the same as numpy's default and Excel's PERCENTILE.INC), so every percentile can be
reproduced by hand from the rows.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ratelens.sources.payers import payer_pattern

# The rows of the asked codes, with filters applied, are materialized once per report
# (``select_rates``) into a temporary table (``selection``); every query below reads it
# through the CTE ``selected``. The statement is assembled from the filters in use only:
# a filter whose parameter is None is left out rather than planned (``$x IS NULL OR ...``
# made DuckDB join every rate row to the provider tables, 25 s on 10 M rows), and the code
# list is a plain ``IN`` list, which DuckDB pushes down to the Parquet scan so row groups
# are skipped by their billing_code min/max statistics. Values are always bound parameters
# ($code_0, $code_1, ..., $payer, ...), never formatted into the SQL.
# Every column of a rate row: the rate export and the provider queries read them all.
ROW_COLUMNS = (
    "billing_code", "billing_code_type", "billing_code_type_version", "billing_code_modifier",
    "negotiated_type", "negotiated_rate", "billing_class", "setting", "service_code", "payer",
    "payer_raw", "plan_name", "source_kind", "file_id", "locator", "negotiation_arrangement",
    "expiration_date", "state", "hospital_name", "provider_references", "description",
    "last_updated_on", "methodology", "payer_family", "payer_plan", "line_of_business",
    "median_amount", "10th_percentile", "90th_percentile", "count",
)  # fmt: skip
# The ones a report's queries read (the statistics, data gaps, sources, allowed amounts, and
# locality_queries.KEY_COLUMNS): a report's selection leaves out the per-row text it never
# reads (locator, description, plan name, ...), 35 % of the selection's time on 100,000 rows.
REPORT_COLUMNS = (
    "billing_code", "negotiated_type", "negotiated_rate", "billing_class", "setting",
    "service_code", "payer", "payer_raw", "source_kind", "file_id", "state",
    "provider_references", "methodology", "median_amount", "10th_percentile",
    "90th_percentile", "count",
)  # fmt: skip
# modifier_key and rate_year, of a rate row's (or a rate set's, rate_sets) raw columns
_OF_RAW = {
    "modifier_key": "coalesce(nullif(array_to_string(list_sort({r}billing_code_modifier), ','),"
                    " ''), '') AS modifier_key",
    "rate_year": "left({r}last_updated_on, 4) AS rate_year",
}
_RAW = {"modifier_key": "billing_code_modifier", "rate_year": "last_updated_on"}
_FROM = """
    FROM rates r  -- parts of loaded files only (the warehouse registers nothing else)
    WHERE """


def _rows_sql(columns: tuple[str, ...], *, derived: bool = True) -> str:
    """The SELECT of ``columns`` (names of ours, quoted) of the rate rows, and the derived
    ``modifier_key`` and ``rate_year`` (not ``derived``: the raw columns they are derived
    from, as :data:`_RAW` names them), up to its WHERE."""
    listed = "".join(f'r."{c}", ' for c in columns)
    tail = (", ".join(e.format(r="r.") for e in _OF_RAW.values()) if derived
            else ", ".join(f"r.{c}" for c in _RAW.values()))
    return f"\n    SELECT {listed}{tail}{_FROM}"


def _kept_sql(columns: tuple[str, ...]) -> str:
    """The SELECT of ``columns`` of the kept rows (``kept_index.KeptIndex.select``), up to its
    WHERE."""
    listed = ", ".join(f'r."{c}"' for c in columns)
    return f"\n    SELECT {listed}\n    FROM kept r\n    WHERE "


# Each optional filter: its predicate over a rate row ``r``, used when its parameter is set.
FILTERS = {
    "year": "(r.last_updated_on IS NULL OR left(r.last_updated_on, 4) = $year)",
    "payer": "regexp_matches(concat_ws(' | ', r.payer, r.payer_raw, r.plan_name), $payer)",
    "setting": "(r.setting = $setting OR r.setting = 'both')",
    "billing_class": "(r.billing_class = $billing_class OR r.billing_class = 'both')",
    "modifier": """(list_contains(r.billing_code_modifier, $modifier)
           OR ($modifier = '' AND len(coalesce(r.billing_code_modifier, [])) = 0))""",
}

# The state filter: a hospital row by its own state, an insurer row by the NPPES practice
# state of an NPI its provider groups list. It runs over the rows of the codes only (a
# materialized CTE): its correlated subqueries are decorrelated into joins, which DuckDB
# would otherwise plan over every rate row.
STATE_FILTER = """
    upper(r.state) = upper($state)
    OR (r.source_kind = 'tic' AND EXISTS (  -- insurer rows: NPPES practice state
        SELECT 1 FROM provider_npis p JOIN nppes n ON n.npi = p.npi
        WHERE p.file_id = r.file_id
          AND list_contains(r.provider_references, p.provider_group_id)
          AND upper(n.state) = upper($state)))
    OR (r.source_kind = 'tic' AND EXISTS (  -- a group whose TIN is an NPI
        SELECT 1 FROM provider_groups g JOIN nppes n ON n.npi = g.tin_value
        WHERE g.tin_type = 'npi' AND g.file_id = r.file_id
          AND list_contains(r.provider_references, g.provider_group_id)
          AND upper(n.state) = upper($state)))
"""

_SELECTED = """
WITH selected AS (SELECT * FROM selection)
"""

# For statistics, a hospital dollar amount set per case, per day, as a share of billed charges
# or by another method is its own unit (its methodology), never pooled with fee-for-service
# dollars: its rows are grouped under the methodology as their rate type.
UNIT_METHODOLOGIES = ("case rate", "per diem", "percent of total billed charges", "other")
_SELECTED_BY_UNIT = f"""
WITH selected AS (
    SELECT * REPLACE (
        CASE WHEN source_kind = 'hospital' AND negotiated_type = 'negotiated'
                  AND methodology IN ({", ".join(f"'{m}'" for m in UNIT_METHODOLOGIES)})
             THEN methodology ELSE negotiated_type END AS negotiated_type)
    FROM selection)
"""


SELECTIONS = ("selection", "provider_selection")

# A CLI report's selection can also be the table ``rate_sets``: its rows grouped into sets of
# rows alike in every column its queries read but the rate (each set's rows counted, ``n``,
# and its rates listed, ``rates``, in no order); a report has few such sets (a code's 1 M
# rates at 100 M rows: ~60,000), so its queries read them, not every row (``rate_sets.py``).
# The allowed figures are kept of percentage and algorithm rows only (ALLOWED_FIGURES's).
SETS = "rate_sets"
SET_KEYS = (
    "billing_code", "payer", "setting", "billing_class", "modifier_key", "negotiated_type",
    "source_kind", "rate_year", "methodology", "file_id", "state", "payer_raw", "service_code",
    "provider_references",
)  # fmt: skip
FIGURED_TYPES = ("percentage", "algorithm")  # the rate types ALLOWED_FIGURES reads
_FIGURES = ("median_amount", "10th_percentile", "90th_percentile", "count")
# Grouped by the raw modifiers and update date (_RAW), a set's modifier_key and rate_year
# derived once a set, not once a row (0.1 s of CPU for a code's 1 M rates); sets alike but
# for their modifiers' order or update day come out as sets of the same keys.
_SETS = f"""
SELECT {", ".join(_OF_RAW[c].format(r="") if c in _OF_RAW else c for c in SET_KEYS)},
       {", ".join(f'"{c}"' for c in _FIGURES)}, n, rates
FROM (
    SELECT {", ".join(f"r.{_RAW.get(c, c)}" for c in SET_KEYS)},
           {", ".join(f'CASE WHEN r.negotiated_type IN ({", ".join(map(repr, FIGURED_TYPES))})'
                      f' THEN r."{c}" END AS "{c}"' for c in _FIGURES)},
           count(*) AS n, list(r.negotiated_rate) AS rates
    FROM ({{rows}}) r
    GROUP BY ALL)
"""


def select_rates(
    con: duckdb.DuckDBPyConnection,
    bound: dict[str, Any],
    table: str = "selection",
    columns: tuple[str, ...] = ROW_COLUMNS,
) -> None:
    """Materialize the filtered rate rows of ``bound`` as ``table`` for the queries.

    ``table`` is one of :data:`SELECTIONS` (an identifier of ours, never user input), or
    :data:`SETS` (the rows of :data:`REPORT_COLUMNS` as sets); ``columns``:
    :data:`ROW_COLUMNS` or :data:`REPORT_COLUMNS` (plus modifier_key, rate_year).
    """
    if table not in (*SELECTIONS, SETS):
        raise ValueError(f"unknown selection table {table!r}")
    if not set(columns) <= set(ROW_COLUMNS):
        raise ValueError(f"unknown rate columns {sorted(set(columns) - set(ROW_COLUMNS))}")
    sql, used = _select_sql(bound, table, columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", used)


def add_rates(con: duckdb.DuckDBPyConnection, bound: dict[str, Any],
              columns: tuple[str, ...], table: str = "selection") -> None:
    """Add the rate rows of ``bound`` to ``table`` (``selection``, made by
    :func:`select_rates` with the same ``columns``, or :data:`SETS`)."""
    sql, used = _select_sql(bound, table, columns)
    con.execute(f"INSERT INTO {table} {sql}", used)


def _select_sql(bound: dict[str, Any], table: str, columns: tuple[str, ...]
                ) -> tuple[str, dict[str, Any]]:
    """:func:`selection_sql`, grouped into sets for :data:`SETS` (of :data:`REPORT_COLUMNS`)."""
    if table != SETS:
        return selection_sql(bound, columns)
    if columns != REPORT_COLUMNS:
        raise ValueError("rate sets are of the report's columns")
    sql, used = selection_sql(bound, columns, derived=False)
    return _SETS.format(rows=sql), used


def selection_sql(
    bound: dict[str, Any], columns: tuple[str, ...] = ROW_COLUMNS, *, source: str = "rates",
    derived: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The SELECT of the rows ``bound`` asks for (see :func:`params`), and its parameters.

    Only the filters whose parameter is not None are in the statement. ``source``: the rate
    parts, or ``kept`` (``kept_index.KeptIndex.select``: ``columns`` are then its own);
    ``derived``: see :func:`_rows_sql`.
    """
    listed, used = code_list(bound["codes"])
    where = [f"r.billing_code IN ({listed})"]
    for name, predicate in FILTERS.items():
        if bound.get(name) is not None:
            where.append(predicate)
            used[name] = bound[name]
    head = _rows_sql(columns, derived=derived) if source == "rates" else _kept_sql(columns)
    sql = head + "\n      AND ".join(where)
    if bound.get("state") is None:
        return sql, used
    used["state"] = bound["state"]
    return f"WITH coded AS MATERIALIZED ({sql}) SELECT * FROM coded r WHERE {STATE_FILTER}", used


def code_list(codes: list[str]) -> tuple[str, dict[str, Any]]:
    """``$code_0, $code_1, ...`` for an ``IN (...)`` list of ``codes``, and its parameters: a
    plain list DuckDB pushes down to the Parquet scan (``IN (SELECT unnest($codes))`` reads
    every rate row's code). No code: ``NULL``, which matches no row."""
    names = [f"code_{i}" for i in range(len(codes))]
    return ", ".join("$" + n for n in names) or "NULL", dict(zip(names, codes, strict=True))


# A group's ``rates`` feed the charts' dots: every rate up to DOTS_CAP, beyond it DOTS_CAP of
# them at evenly spaced ranks (0-based rank i * (n - 1) // (DOTS_CAP - 1), i = 0 .. DOTS_CAP - 1:
# the lowest and the highest included); counts and percentiles are always of every row. The
# row's ``pooled_median`` is the median of the asked code's (``$code``) dollar rates of all
# groups pooled, outliers excluded (the headline's), as statistics.median takes it.
DOTS_CAP = 1000
GROUP_STATS = (
    _SELECTED_BY_UNIT
    + """
-- each group's median (the outlier test's reference), joined back to its rows (a window
-- over the rows costs more); setting and billing class: NULL and '' are one group here
, medians AS (
    SELECT billing_code, payer, coalesce(setting, '') AS setting_key,
           coalesce(billing_class, '') AS class_key, modifier_key, negotiated_type,
           median(negotiated_rate) FILTER (WHERE negotiated_rate > 0
                                           AND negotiated_rate <= $plausible_max) AS group_median
    FROM selected WHERE negotiated_rate IS NOT NULL GROUP BY ALL
), grouped AS (  -- only the columns read below
    SELECT s.billing_code, s.payer, s.setting, s.billing_class, s.modifier_key,
           s.negotiated_type, s.source_kind, s.rate_year, s.negotiated_rate, s.file_id,
           s.pct_of_medicare, s.pct_of_medicare_national, s.is_local_basis,
           s.medicare_locality, s.medicare_setting, m.group_median
    FROM selected s JOIN medians m
      ON m.billing_code = s.billing_code AND m.payer IS NOT DISTINCT FROM s.payer
     AND m.setting_key = coalesce(s.setting, '') AND m.class_key = coalesce(s.billing_class, '')
     AND m.modifier_key = s.modifier_key
     AND m.negotiated_type IS NOT DISTINCT FROM s.negotiated_type
    WHERE s.negotiated_rate IS NOT NULL
), flagged AS (
    SELECT *,
           (negotiated_type NOT IN ('percentage') AND (
               negotiated_rate <= 0.01
               OR negotiated_rate > $plausible_max  -- sources.rates.PLAUSIBLE_MAX
               OR negotiated_rate > group_median * $outlier_ratio
               OR negotiated_rate < group_median / $outlier_ratio)) AS is_outlier
    FROM grouped
), groups AS (
SELECT billing_code, payer, setting, billing_class, modifier_key, negotiated_type, source_kind,
       rate_year, count(*) FILTER (WHERE NOT is_outlier) AS n,
       count(*) FILTER (WHERE is_outlier) AS n_outliers,
       min(negotiated_rate) FILTER (WHERE NOT is_outlier) AS min,
       -- one sort for the five (the same values as five quantile_cont calls)
       quantile_cont(negotiated_rate, [0.10, 0.25, 0.5, 0.75, 0.90])
           FILTER (WHERE NOT is_outlier) AS quantiles,
       max(negotiated_rate) FILTER (WHERE NOT is_outlier) AS max,
       list(negotiated_rate ORDER BY negotiated_rate) FILTER (WHERE NOT is_outlier) AS all_rates,
       list(negotiated_rate ORDER BY negotiated_rate) FILTER (WHERE is_outlier) AS outliers,
       -- each row's % of its own Medicare amount (locality_queries.attach_basis adds them)
       quantile_cont(pct_of_medicare, [0.25, 0.5, 0.75]) FILTER (WHERE NOT is_outlier)
           AS pct_quantiles,
       quantile_cont(pct_of_medicare_national, 0.5) FILTER (WHERE NOT is_outlier)
           AS pct_of_medicare_national,
       count(*) FILTER (WHERE NOT is_outlier AND is_local_basis) AS n_local_basis,
       count(DISTINCT medicare_locality) FILTER (WHERE NOT is_outlier AND is_local_basis)
           AS n_localities,
       count(*) FILTER (WHERE NOT is_outlier AND medicare_setting = 'both') AS n_both_settings,
       list(DISTINCT medicare_setting) FILTER (WHERE NOT is_outlier
           AND medicare_setting IS NOT NULL) AS medicare_settings,
       count(DISTINCT file_id) AS n_files,
       list(DISTINCT file_id ORDER BY file_id) AS file_ids
FROM flagged
GROUP BY ALL
), pooled AS (  -- the two middle rates (discrete quantiles: ranks (n-1)//2 and n//2)
    SELECT quantile_disc(negotiated_rate, 0.5) AS low,
           -quantile_disc(-negotiated_rate, 0.5) AS high
    FROM flagged
    WHERE NOT is_outlier AND billing_code = $code
      AND negotiated_type IN ('negotiated', 'derived', 'fee schedule')
)
SELECT g.* EXCLUDE (quantiles, all_rates, pct_quantiles),
       g.quantiles[1] AS p10, g.quantiles[2] AS p25, g.quantiles[3] AS median,
       g.quantiles[4] AS p75, g.quantiles[5] AS p90,
       CASE WHEN coalesce(len(g.all_rates), 0) <= $dots_cap THEN g.all_rates
            ELSE list_transform(range($dots_cap),
                 lambda i: g.all_rates[i * (len(g.all_rates) - 1) // ($dots_cap - 1) + 1])
       END AS rates,
       g.pct_quantiles[1] AS pct_of_medicare_p25, g.pct_quantiles[2] AS pct_of_medicare_median,
       g.pct_quantiles[3] AS pct_of_medicare_p75,
       (p.low + p.high) / 2 AS pooled_median
FROM groups g CROSS JOIN pooled p
ORDER BY billing_code, payer, setting, billing_class, modifier_key, negotiated_type,
         source_kind, rate_year  -- (every key of a group: one order, run after run)
"""
)

STATE_STATS = (
    _SELECTED_BY_UNIT
    + """
SELECT billing_code, payer, negotiated_type, rate_year, state, count(*) AS n,
       quantile_cont(negotiated_rate, 0.5) AS median
FROM selected
WHERE state IS NOT NULL AND negotiated_rate > 0 AND negotiated_rate <= $plausible_max
  AND negotiated_type IN ('negotiated', 'derived', 'fee schedule')
GROUP BY ALL ORDER BY billing_code, payer, state, negotiated_type, rate_year
"""
)

FILES_USED = (
    _SELECTED
    + """
SELECT file_id, count(*) AS n_rows FROM selected GROUP BY file_id ORDER BY file_id
"""
)

# Rate rows of the codes in files of other years than the report's (whatever the filters);
# {codes}: :func:`code_list`.
OTHER_YEARS = """
SELECT left(last_updated_on, 4) AS rate_year, count(*) AS n
FROM rates
WHERE billing_code IN ({codes}) AND last_updated_on IS NOT NULL
  AND left(last_updated_on, 4) <> $year
GROUP BY ALL ORDER BY rate_year
"""
# The same over the selection of every year (``kept_index.KeptIndex.other_years``: kept rows);
# {table}: ``selection`` or :data:`SETS`, {n}: its rows
_OTHER_SELECTED = """
SELECT rate_year, {n} AS n FROM {table}
WHERE rate_year IS NOT NULL AND rate_year <> $year GROUP BY ALL ORDER BY rate_year
"""


def select_report_rates(
    con: duckdb.DuckDBPyConnection, bound: dict[str, Any], *, is_selected: bool = False,
    table: str = "selection",
) -> list[dict[str, Any]]:
    """``select_rates`` of a report (:data:`REPORT_COLUMNS`) as ``table`` (``selection``, or
    :data:`SETS`), and the :data:`OTHER_YEARS` rows. With no row filter but the year (the
    usual report), both come from one scan of the rates: every year's rows are selected, the
    other years counted, then left out. ``is_selected``: ``table`` holds those rows of every
    year already (no row filter)."""
    is_filtered = any(bound.get(k) is not None for k in ("payer", "state", "setting",
                                                          "billing_class", "modifier"))
    if is_selected and is_filtered:
        raise ValueError("rows of every year were selected for a filtered report")
    if not bound.get("year") or is_filtered:
        if not is_selected:
            select_rates(con, bound, table, REPORT_COLUMNS)
        return _other_years(con, bound) if bound.get("year") else []
    if not is_selected:
        select_rates(con, {**bound, "year": None}, table, REPORT_COLUMNS)
    n = "CAST(sum(n) AS BIGINT)" if table == SETS else "count(*)"
    other = fetch(con, _OTHER_SELECTED.format(table=table, n=n), bound)
    if other:
        con.execute(f"DELETE FROM {table} WHERE rate_year IS NOT NULL AND rate_year <> $year",
                    {"year": bound["year"]})
    return other


# A report's rows can also come from its codes' rows kept by the caller (the web app, per
# ledger state and code: every filter of the code shares them): every year and filter, with
# the Medicare basis columns already attached, as an Arrow table. These columns are kept for
# the filters only (the year's, payer's and modifier's predicates read them), not selected.
KEPT_FOR_FILTERS = ("last_updated_on", "plan_name", "billing_code_modifier")
KEPT_COLUMNS = REPORT_COLUMNS + KEPT_FOR_FILTERS  # selected from the rates before the basis
KEPT_BATCH = 100_000


def kept_rows(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The rows of ``sql`` (``selection`` of :data:`KEPT_COLUMNS`, every year and filter, with
    the basis columns) as an Arrow table to keep, each row numbered (``kept_row``), its text columns
    dictionary-encoded (a few distinct values each: a third of the bytes), read in batches (a
    batch of plain strings at a time: 1 M rows of them take ~350 MB)."""
    import pyarrow.compute as pc  # 0.1 s to import: only the web app keeps rows

    reader = con.sql(sql).to_arrow_reader(KEPT_BATCH)
    schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type))
                        if pa.types.is_string(f.type) else f for f in reader.schema])
    batches = [pa.RecordBatch.from_arrays(
        [pc.dictionary_encode(c) if pa.types.is_string(c.type) else c for c in batch.columns],
        schema=schema) for batch in reader]
    con.execute("DROP TABLE selection")  # KeptIndex.register registers its own
    table = pa.Table.from_batches(batches, schema)  # a dictionary per batch: DuckDB reads it
    return table.append_column("kept_row", pa.array(np.arange(table.num_rows)))


def _other_years(con: duckdb.DuckDBPyConnection, bound: dict[str, Any]) -> list[dict[str, Any]]:
    listed, used = code_list(bound["codes"])
    return fetch(con, OTHER_YEARS.format(codes=listed), {**used, "year": bound["year"]})


PAYERS_LOADED = "SELECT DISTINCT payer FROM rates WHERE payer IS NOT NULL ORDER BY payer"

MISSING_FIELDS = (
    _SELECTED
    + """
SELECT count(*) AS n,
       count(*) FILTER (WHERE setting IS NULL) AS no_setting,
       count(*) FILTER (WHERE billing_class IS NULL) AS no_billing_class,
       count(*) FILTER (WHERE state IS NULL) AS no_state,
       count(*) FILTER (WHERE len(coalesce(service_code, [])) = 0) AS no_service_code,
       count(*) FILTER (WHERE negotiated_rate IS NULL) AS no_rate
FROM selected
"""
)


def params(
    codes: list[str],
    *,
    payer: str | None = None,
    state: str | None = None,
    setting: str | None = None,
    billing_class: str | None = None,
    modifier: str | None = None,
    year: int | None = None,
) -> dict[str, Any]:
    """The bound parameters of the queries above (``year``: rates of files of that year)."""
    return {
        "codes": codes,
        "payer": payer_pattern(payer) if payer else None,  # text, or the family it names
        "state": state,
        "setting": setting,
        "billing_class": billing_class,
        "modifier": modifier,
        "year": str(year) if year else None,
        "code": codes[0] if codes else None,  # the asked code (the others: its equivalents)
        "dots_cap": DOTS_CAP,
    }


def fetch(con: duckdb.DuckDBPyConnection, sql: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a named query as dicts."""
    used = {k: v for k, v in bound.items() if re.search(rf"\${re.escape(k)}\b", sql)}
    cur = con.execute(sql, used)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# Payer names as the files write them, with their rows (unmapped names are a data gap).
PAYER_NAMES = (
    _SELECTED
    + """
SELECT payer_raw, count(*) AS n FROM selected WHERE payer_raw IS NOT NULL GROUP BY payer_raw
"""
)

# Files of the selection ($file_ids: FILES_USED's) whose remote provider references could not
# be read (lenient loads): their counts as the reader recorded them in the ledger.
PROVIDERS_NOT_READ = """
SELECT l.path,
       CAST(json_extract_string(l.meta, '$.n_rates_without_provider_details') AS BIGINT) AS n_rates,
       CAST(json_extract_string(l.meta, '$.n_provider_files_not_read') AS BIGINT) AS n_files
FROM ledger l
WHERE l.file_id IN (SELECT unnest($file_ids))
  AND json_extract_string(l.meta, '$.n_rates_without_provider_details') IS NOT NULL
ORDER BY l.path
"""

# Rates given as a percentage or an algorithm carry no comparable dollar amount; a v3 hospital
# file gives the allowed amounts it saw for them (median, 10th and 90th percentile, count).
_ALLOWED = """
SELECT payer, billing_code, setting, billing_class, negotiated_type, methodology,
       count(*) AS n, median(median_amount) AS median_amount,
       min("10th_percentile") AS p10, max("90th_percentile") AS p90,
       string_agg(DISTINCT "count", '; ' ORDER BY "count") AS counts,
       list(DISTINCT file_id ORDER BY file_id) AS file_ids
FROM selected
WHERE negotiated_type IN ('percentage', 'algorithm')
  AND (median_amount IS NOT NULL OR "10th_percentile" IS NOT NULL
       OR "90th_percentile" IS NOT NULL)
GROUP BY ALL ORDER BY billing_code, payer, setting, billing_class, negotiated_type, methodology
"""
ALLOWED_FIGURES = _SELECTED + _ALLOWED
# The same of :data:`SETS`: its sets of those types, a row for each of their rows.
SET_ALLOWED_FIGURES = f"""
WITH selected AS (
    SELECT * EXCLUDE (i)
    FROM (SELECT *, unnest(range(n)) AS i FROM {SETS}
          WHERE negotiated_type IN ({", ".join(repr(t) for t in FIGURED_TYPES)})))
""" + _ALLOWED
