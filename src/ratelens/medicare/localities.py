"""Medicare payment localities: a locality id, ZIP code or state to localities and GPCIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.pfs import Gpci
from ratelens.warehouse import medicare_queries as q

Source = dict[str, str]  # {"table", "file_id", "locator"}


def _join(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def _src(table: str, row: dict[str, Any]) -> Source:
    return {"table": table, "file_id": str(row["file_id"]), "locator": str(row["locator"])}


@dataclass(frozen=True)
class Locality:
    """A Medicare payment locality: MAC (carrier) + locality number, with its GPCIs."""

    mac: str
    locality: str
    state: str | None
    name: str
    gpci: Gpci
    sources: tuple[Source, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.mac}-{self.locality}"


# ---- localities -----------------------------------------------------------------------------

_LOCALITY = re.compile(r"^(?:(\d{5})|([A-Z]{2}))?[\s\-/]*(\d{1,2})$")


def _locality(row: dict[str, Any]) -> Locality:
    name = str(row.get("locality_name") or row.get("fee_schedule_area") or "").rstrip("*")
    gpci = Gpci(row["pw_gpci"], row["pe_gpci"], row["mp_gpci"])
    return Locality(row["mac"], row["locality"], row["state"], name, gpci, (_src("pfs_gpci", row),))


def _parse_locality(text: str) -> tuple[str | None, str | None, str]:
    """(mac, state, locality number) of "10112-00", "1011200", "AL 00", "AL00", "00"."""
    text = text.strip().upper()
    if re.fullmatch(r"\d{7}", text):
        return text[:5], None, text[5:]
    m = _LOCALITY.match(text)
    if not m:
        raise UsageError(
            f"locality {text!r}: give MAC-locality (10112-00), state and "
            "locality (AL 00), or a locality number with state="
        )
    return m.group(1), m.group(2), m.group(3).zfill(2)


def resolve_localities(
    con: duckdb.DuckDBPyConnection,
    year: int,
    *,
    locality: str | None = None,
    state: str | None = None,
    zip5: str | None = None,
    notes: list[str] | None = None,
) -> list[Locality]:
    """The localities a locality id, ZIP code or state names; [] for national."""
    if locality is None and state is None and zip5 is None:
        return []
    years = [r["year"] for r in q.fetch_if(con, "pfs_gpci", q.GPCI_YEARS)]
    if year not in years:
        raise DataNotAvailable(
            f"no GPCIs for {year} are loaded (loaded: {_join(years) or 'none'}); ingest the "
            f"{year} GPCI file, ask for a loaded year ({max(years) if years else year}), "
            "or omit the locality for the national amount"
        )
    params: dict[str, Any] = {"year": year, "mac": None, "state": state, "locality": None}
    extra: list[Source] = []
    if zip5 is not None:
        params.update(_zip_params(con, zip5, year, notes, extra))
    elif locality is not None:
        mac, st, number = _parse_locality(locality)
        params.update(mac=mac, locality=number, state=st or state)
    rows = q.fetch(con, q.LOCALITIES, params)
    if not rows:
        asked = zip5 or locality or state
        raise DataNotAvailable(f"no {year} Medicare locality matches {asked!r}")
    if locality is not None and len(rows) > 1:
        ids = ", ".join(f"{r['state']} {r['mac']}-{r['locality']}" for r in rows[:8])
        raise UsageError(
            f"locality {locality!r} matches {len(rows)} localities ({ids}...); "
            "give the state or the MAC as well"
        )
    found = [_locality(r) for r in rows]
    return [
        Locality(x.mac, x.locality, x.state, x.name, x.gpci, x.sources + tuple(extra))
        for x in found
    ]


def _zip_params(
    con: duckdb.DuckDBPyConnection,
    zip5: str,
    year: int,
    notes: list[str] | None,
    extra: list[Source],
) -> dict[str, Any]:
    if not re.fullmatch(r"\d{5}", zip5.strip()):
        raise UsageError(f"ZIP code {zip5!r}: expected five digits")
    rows = q.fetch_if(con, "pfs_zip", q.ZIP_LOCALITY, {"zip5": zip5.strip()})
    if not rows:
        raise DataNotAvailable(f"ZIP code {zip5} is not in the ZIP-to-locality file loaded")
    z = rows[0]
    extra.append(_src("pfs_zip", z))
    if notes is not None and z["plus_four_flag"] == "1":
        notes.append(
            f"ZIP {zip5} is split between localities by ZIP+4; the ZIP5 file's "
            "default locality is used"
        )
    if notes is not None and int(z["year"]) != year:
        notes.append(f"ZIP {zip5} located with the {z['year_quarter']} ZIP file")
    return {"mac": z["carrier"], "locality": z["locality"], "state": None}
