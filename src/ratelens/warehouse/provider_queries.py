"""Named SQL joining insurer rate rows to the providers they pay (parameters bound).

A TiC rate row names provider groups (``provider_references``: ``provider_group_id`` values
of the same file); ``provider_npis`` lists each group's NPIs, and ``nppes`` says where each
NPI practises and which NUCC taxonomies it holds. The join, for every query here:

- a group's NPIs are the NPIs it lists, plus its TIN when the TIN is itself an NPI
  (``tin.type = "npi"``); a group with ``npi: [0]`` and an EIN lists none (TIN-only);
- one NPPES row per NPI: from the NPPES file with the latest ``file_date`` (then the latest
  load), so a monthly file and later weekly files do not count an NPI twice;
- an NPI counts as found in NPPES when its row lists a taxonomy (a deactivated NPI's row
  is blank but for its number and date, so it counts as not found);
- only rate rows of the asked codes and year, as in ``rate_queries`` (the same CTE).
"""

from __future__ import annotations

from typing import Any

import duckdb

from ratelens.sources.rates import PLAUSIBLE_MAX
from ratelens.warehouse.rate_queries import fetch, params, select_rates

DOLLAR_TYPES = ("negotiated", "derived", "fee schedule")
# Taxonomy prefixes accepted as performing for institutional rows: 28xx are hospitals
# (282N general acute care, 283X rehabilitation, 284300000X special, 281P chronic
# disease, 282E long-term care, 286500000X military): a hospital bills the technical
# service of any code on its institutional claim.
INSTITUTIONAL_PREFIXES = ("28",)

IS_NPPES_LOADED = "SELECT EXISTS (SELECT 1 FROM nppes WHERE npi IS NOT NULL) AS is_loaded"

# A group's NPIs and their one NPPES row each; needs a CTE ``used_groups`` (file_id,
# provider_group_id) before it.
NPI_CTES = """
, group_npis AS (
    SELECT p.file_id, p.provider_group_id, p.npi
    FROM provider_npis p JOIN used_groups u USING (file_id, provider_group_id)
    UNION
    SELECT g.file_id, g.provider_group_id, g.tin_value AS npi
    FROM provider_groups g JOIN used_groups u USING (file_id, provider_group_id)
    WHERE lower(g.tin_type) = 'npi'
), registry AS (
    SELECT n.npi, n.state, n.zip5, n.taxonomies
    FROM nppes n LEFT JOIN ledger l ON l.file_id = n.file_id
    WHERE n.npi IN (SELECT npi FROM group_npis)
    QUALIFY row_number() OVER (PARTITION BY n.npi
        ORDER BY l.file_date DESC NULLS LAST, l.finished_at DESC NULLS LAST, n.file_id) = 1
)
"""

_LINK_CTES = (
    """
, tic_rates AS (
    SELECT file_id, locator, payer, billing_code, negotiated_type, rate_year, negotiated_rate,
           billing_class, provider_references
    FROM selected WHERE len(coalesce(provider_references, [])) > 0
), rate_groups AS (
    SELECT DISTINCT file_id, locator, unnest(provider_references) AS provider_group_id
    FROM tic_rates
), used_groups AS (
    SELECT DISTINCT file_id, provider_group_id FROM rate_groups
)
"""
    + NPI_CTES
    + """
, rate_npis AS (
    SELECT rg.file_id, rg.locator, rg.provider_group_id, g.npi, r.state, r.zip5, r.taxonomies,
           coalesce(len(r.taxonomies), 0) > 0 AS is_registered
    FROM rate_groups rg
    JOIN group_npis g USING (file_id, provider_group_id)
    LEFT JOIN registry r ON r.npi = g.npi
)
"""
)


_LINKS = "WITH selected AS (SELECT * FROM provider_selection)" + _LINK_CTES

# (a) Rates by the practice state of the NPIs they pay. A rate row counts once in each
# state where at least one NPI of its groups practises (a group spanning TX and OK puts
# its rates in both); rows whose NPIs are not in NPPES have no state here.
STATE_OF_RATES = (
    _LINKS
    + """
, rate_states AS (
    SELECT DISTINCT file_id, locator, state FROM rate_npis WHERE state IS NOT NULL
)
SELECT t.payer, t.billing_code, t.negotiated_type, t.rate_year, s.state, count(*) AS n,
       quantile_cont(t.negotiated_rate, 0.5) AS median
FROM tic_rates t JOIN rate_states s USING (file_id, locator)
WHERE t.negotiated_rate > 0 AND t.negotiated_rate <= $plausible_max  -- not implausible
  AND t.negotiated_type IN (SELECT unnest($dollar_types))
GROUP BY ALL
ORDER BY t.billing_code, t.payer, t.negotiated_type, t.rate_year, s.state
"""
)

# Each rate row's provider status:
#   no_npi       every group is TIN-only (npi [0]): no NPI listed, nothing to check;
#   not_in_nppes NPIs are listed but none is in the loaded NPPES file(s): cannot tell;
#   performing   some NPI holds a taxonomy of $taxonomies, or (institutional or "both"
#                rows) a taxonomy starting with one of $institutional_prefixes;
#   ghost        NPIs found in NPPES, none of them of a taxonomy that performs the code.
_STATUS = (
    _LINKS
    + """
, npi_taxonomies AS (
    SELECT file_id, locator, provider_group_id, npi, unnest(taxonomies) AS taxonomy
    FROM rate_npis WHERE is_registered
), performing AS (
    SELECT DISTINCT x.file_id, x.locator
    FROM npi_taxonomies x JOIN tic_rates t USING (file_id, locator)
    WHERE x.taxonomy IN (SELECT unnest($taxonomies))
       OR (t.billing_class IN ('institutional', 'both')
           AND left(x.taxonomy, 2) IN (SELECT unnest($institutional_prefixes)))
), rate_status AS (
    SELECT t.file_id, t.locator, t.payer,
           CASE WHEN count(n.npi) = 0 THEN 'no_npi'
                WHEN count(n.npi) FILTER (WHERE n.is_registered) = 0 THEN 'not_in_nppes'
                WHEN bool_or(p.locator IS NOT NULL) THEN 'performing'
                ELSE 'ghost' END AS status
    FROM tic_rates t
    LEFT JOIN rate_npis n USING (file_id, locator)
    LEFT JOIN performing p USING (file_id, locator)
    GROUP BY t.file_id, t.locator, t.payer
)
"""
)

# Counts of rate rows per payer and status (every status, for the notes and totals).
RATE_STATUS = (
    _STATUS
    + """
SELECT payer, status, count(*) AS n FROM rate_status GROUP BY ALL ORDER BY payer, status
"""
)

# (b) Ghost rates per payer: how many rate rows, how many distinct provider groups
# (file_id, provider_group_id) they name, and the first $n_examples rows as examples.
GHOST_RATES = (
    _STATUS
    + """
, ghost AS (SELECT * FROM rate_status WHERE status = 'ghost'),
ghost_groups AS (
    SELECT g.payer, count(DISTINCT (rg.file_id, rg.provider_group_id)) AS n_groups
    FROM ghost g JOIN rate_groups rg USING (file_id, locator)
    GROUP BY g.payer
)
SELECT g.payer, count(*) AS n_rates, any_value(gg.n_groups) AS n_groups,
       list([g.file_id, g.locator] ORDER BY g.file_id, g.locator)[1:$n_examples] AS examples
FROM ghost g JOIN ghost_groups gg USING (payer)
GROUP BY g.payer
ORDER BY n_rates DESC, g.payer
"""
)


def provider_params(
    codes: list[str],
    taxonomies: list[str],
    *,
    year: int | None = None,
    n_examples: int = 3,
) -> dict[str, Any]:
    """The bound parameters of the queries above (``year``: rates of files of that year)."""
    return params(codes, year=year) | {
        "taxonomies": taxonomies,
        "institutional_prefixes": list(INSTITUTIONAL_PREFIXES),
        "dollar_types": list(DOLLAR_TYPES),
        "n_examples": n_examples,
        "plausible_max": float(PLAUSIBLE_MAX),
    }


def is_nppes_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the connection has an ``nppes`` view with at least one NPI."""
    try:
        return bool(con.execute(IS_NPPES_LOADED).fetchall()[0][0])
    except duckdb.CatalogException:  # the nppes table is not registered
        return False


__all__ = [
    "GHOST_RATES",
    "NPI_CTES",
    "RATE_STATUS",
    "STATE_OF_RATES",
    "fetch",
    "is_nppes_loaded",
    "provider_params",
]


def select_providers(con: duckdb.DuckDBPyConnection, bound: dict[str, Any]) -> None:
    """Materialize the rate rows of ``bound`` for the queries of this module."""
    select_rates(con, bound, table="provider_selection")
