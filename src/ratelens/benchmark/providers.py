"""provider_findings: rates by the providers' state, and rates paid to providers who do not
perform the code ("ghost rates"), from TiC provider groups joined to NPPES.

Ghost rule: a rate row is a ghost rate when its provider groups list NPIs, at least one is
in the loaded NPPES file, and none holds (in any of its up to 15 taxonomies) a NUCC taxonomy
the knowledge pack lists among the specialties of the code or its Medicare equivalents; for
institutional (and "both") rows any hospital taxonomy (28xx) also performs. TIN-only
groups (``npi: [0]``) cannot be checked and are counted apart as "no NPI listed"; rows whose
NPIs are all missing from NPPES are counted apart too, never called ghosts.
"""

from __future__ import annotations

import duckdb

from ratelens.benchmark.document import GhostRates, ProviderFindings, StateBenchmark
from ratelens.coding.packs import pack_for
from ratelens.warehouse import provider_queries as pq

NOT_LOADED = "NPPES not loaded: provider states and ghost rates not available"


def provider_findings(
    con: duckdb.DuckDBPyConnection, code: str, codes: list[str], *, year: int | None = None,
    is_nppes_loaded: bool | None = None,
) -> ProviderFindings:
    """Provider states and ghost rates of ``codes`` (``code`` and its equivalents).
    ``is_nppes_loaded``: known by the caller (None: asked here)."""
    if not (pq.is_nppes_loaded(con) if is_nppes_loaded is None else is_nppes_loaded):
        return ProviderFindings(is_nppes_loaded=False, notes=(NOT_LOADED,))
    taxonomies = performing_taxonomies([code, *codes])
    bound = pq.provider_params(codes, list(taxonomies), year=year)
    pq.select_providers(con, bound)
    by_state = tuple(StateBenchmark(**r) for r in pq.fetch(con, pq.STATE_OF_RATES, bound))
    counts = _status_counts(pq.fetch(con, pq.RATE_STATUS, bound))
    notes = [
        "Provider state: the practice-location state in NPPES of the NPIs a rate's provider "
        "groups list; a rate whose groups practise in several states counts in each of them."
    ]
    ghost: tuple[GhostRates, ...] = ()
    if taxonomies:
        ghost = tuple(_ghost(r) for r in pq.fetch(con, pq.GHOST_RATES, bound))
        notes.append(_ghost_note(code, taxonomies, counts))
    else:
        notes.append(
            f"No knowledge pack lists the specialties (NUCC taxonomies) that perform {code}: "
            "ghost rates not assessed."
        )
    if counts.get("no_npi"):
        notes.append(
            f"No NPI listed (TIN-only groups, npi [0]): {counts['no_npi']:,} rate rows; "
            "they have no provider state and no specialty to check."
        )
    if counts.get("not_in_nppes"):
        notes.append(
            f"NPIs not in the loaded NPPES file (deactivated, or a partial file): "
            f"{counts['not_in_nppes']:,} rate rows; no provider state, not counted as ghosts."
        )
    return ProviderFindings(
        is_nppes_loaded=True,
        by_state=by_state,
        ghost=ghost,
        n_tin_only=counts.get("no_npi", 0),
        n_not_in_nppes=counts.get("not_in_nppes", 0),
        n_checked=counts.get("ghost", 0) + counts.get("performing", 0),
        taxonomies=taxonomies,
        notes=tuple(notes),
    )


def performing_taxonomies(codes: list[str]) -> tuple[str, ...]:
    """NUCC taxonomy codes of the specialties the knowledge packs list for ``codes``."""
    found: list[str] = []
    for code in codes:
        entry = pack_for(code)
        for specialty in entry.specialties if entry else ():
            if specialty.nucc_taxonomy and specialty.nucc_taxonomy not in found:
                found.append(specialty.nucc_taxonomy)
    return tuple(found)


def _status_counts(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + r["n"]
    return counts


def _ghost(row: dict) -> GhostRates:
    examples = tuple((file_id, locator) for file_id, locator in row["examples"] or ())
    return GhostRates(row["payer"], row["n_rates"], row["n_groups"], examples)


def _ghost_note(code: str, taxonomies: tuple[str, ...], counts: dict[str, int]) -> str:
    checked = counts.get("ghost", 0) + counts.get("performing", 0)
    listed = ", ".join(taxonomies)
    return (
        f"Ghost rates: rate rows whose provider groups' NPIs (found in NPPES) hold none of the "
        f"taxonomies that perform {code} ({listed}; for institutional rows also hospitals, "
        f"28xx): {counts.get('ghost', 0):,} of {checked:,} rows checked."
    )


__all__ = ["GhostRates", "ProviderFindings", "performing_taxonomies", "provider_findings"]
