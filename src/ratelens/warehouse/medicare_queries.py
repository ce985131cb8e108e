"""Named SQL over the Medicare tables (parameters bound, never formatted in).

The connection holds tables or views named as the readers' tables: ``pfs_rvu``, ``pfs_gpci``,
``pfs_locality``, ``pfs_zip``, ``pfs_payment``, ``opps_addendum_b``, ``opps_addendum_a``,
``hcpcs_level2``. A table that is not there answers with no rows (:func:`has_table`).
"""

from __future__ import annotations

from typing import Any

import duckdb

# The release of a year to use: the latest (RVU25D after RVU25A) for the CF kinds asked.
LATEST_RELEASE = """
SELECT year, release, cf_kind FROM pfs_rvu
WHERE year = $year AND cf_kind IN (SELECT unnest($cf_kinds))
GROUP BY year, release, cf_kind ORDER BY release DESC LIMIT 1
"""

PFS_YEARS = "SELECT DISTINCT year FROM pfs_rvu ORDER BY year DESC"

PFS_CF_KINDS = "SELECT DISTINCT cf_kind FROM pfs_rvu WHERE year = $year ORDER BY cf_kind"

RVU_ROWS = """
SELECT * FROM pfs_rvu
WHERE hcpcs = $code AND year = $year AND release = $release AND cf_kind = $cf_kind
ORDER BY modifier
"""

CODE_YEARS = "SELECT DISTINCT year FROM pfs_rvu WHERE hcpcs = $code ORDER BY year DESC"

# The code's global (else first) row in the newest RVU file before a year.
CODE_LAST_ROW = """
SELECT * FROM pfs_rvu WHERE hcpcs = $code AND year < $year
ORDER BY year DESC, release DESC, modifier LIMIT 1
"""

CODES_PRESENT = """
SELECT DISTINCT hcpcs FROM pfs_rvu
WHERE year = $year AND release = $release AND hcpcs IN (SELECT unnest($codes))
"""

GPCI_YEARS = "SELECT DISTINCT year FROM pfs_gpci ORDER BY year DESC"

# A locality by its parts; NULL parts match anything.
LOCALITIES = """
SELECT g.*, l.fee_schedule_area, l.counties
FROM pfs_gpci g
LEFT JOIN pfs_locality l ON l.year = g.year AND l.mac = g.mac AND l.locality = g.locality
WHERE g.year = $year
  AND ($mac IS NULL OR g.mac = $mac)
  AND ($locality IS NULL OR g.locality = $locality)
  AND ($state IS NULL OR upper(g.state) = upper($state))
ORDER BY g.state, g.mac, g.locality
"""

ZIP_LOCALITY = """
SELECT * FROM pfs_zip WHERE zip5 = $zip5 ORDER BY year_quarter DESC LIMIT 1
"""

OPPS_ROW = """
SELECT * FROM opps_addendum_b
WHERE hcpcs = $code AND year = $year
ORDER BY period DESC, publisher = 'CMS' DESC LIMIT 1
"""

# Years each kind of CMS file is loaded for (any code), to name the code sets searched.
LOADED_YEARS = {
    "pfs_rvu": "SELECT DISTINCT year FROM pfs_rvu ORDER BY year DESC",
    "opps_addendum_b": "SELECT DISTINCT year FROM opps_addendum_b ORDER BY year DESC",
    "hcpcs_level2": "SELECT DISTINCT year FROM hcpcs_level2 ORDER BY year DESC",
}

# Whether a table holds any row (a view over no file is empty).
ANY_ROW = {t: f"SELECT 1 FROM {t} LIMIT 1" for t in ("ncci_ptp", "ncci_mue", "rates")}

OPPS_YEARS = "SELECT DISTINCT year FROM opps_addendum_b WHERE hcpcs = $code ORDER BY year DESC"

ADDENDUM_A = "SELECT * FROM opps_addendum_a WHERE year = $year"

# Level II procedure descriptors of the temporary G-codes (where CMS's replacements live).
LEVEL2_G_TEXT = """
SELECT hcpcs, long_description, file_id, locator FROM hcpcs_level2
WHERE record_type = 'procedure' AND hcpcs LIKE 'G%'
"""

LEVEL2_ROW = """
SELECT * FROM hcpcs_level2 WHERE hcpcs = $code ORDER BY year DESC LIMIT 1
"""

PAYMENT_ROWS = """
SELECT * FROM pfs_payment
WHERE year = $year AND hcpcs = $code AND carrier = $mac AND locality = $locality
"""


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table or view of that name exists."""
    rows = con.execute(  # fetchall: no unfinished result left (DuckDB 2 refuses register())
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $name", {"name": name}
    ).fetchall()
    return bool(rows and rows[0][0])


def fetch(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows of a named query as dicts (only the parameters the query names are bound)."""
    bound = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    cur = con.execute(sql, bound)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def fetch_if(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """:func:`fetch`, or no rows when ``table`` is not loaded (asked of DuckDB's answer, not
    beforehand: a report makes ~10 such reads, each a catalog query more)."""
    try:
        return fetch(con, sql, params)
    except duckdb.CatalogException as exc:  # only the table's absence means "no rows"
        if f"Table with name {table} does not exist" not in str(exc):
            raise
        return []
