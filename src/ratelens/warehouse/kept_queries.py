"""A report's queries over its selection besides GROUP_STATS, answered from the kept rows'
index (:class:`ratelens.warehouse.kept_index.KeptIndex`) and the selected ``rows`` of it:
``rate_queries``' STATE_STATS, MISSING_FIELDS, FILES_USED, PAYER_NAMES and
``locality_queries.national_reasons``. The same rows, in the same order, with the same values
and Python types as DuckDB gives (tests/warehouse/test_kept_queries.py runs both on random
selections); ~1 ms each for 100,000 rates, against 3-25 ms of SQL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ratelens.warehouse.kept_index import KeptIndex, index_of
from ratelens.warehouse.kept_stats import renumber, runs_quantiles
from ratelens.warehouse.locality_queries import DOLLAR_TYPES

# STATE_STATS's group keys (kept_index.GROUPINGS["state"]: in its ORDER BY order), and its
# columns in its SELECT order
_STATE_KEYS = ("billing_code", "payer", "state", "unit_type", "rate_year")
_STATE_COLUMNS = ("billing_code", "payer", "negotiated_type", "rate_year", "state")


def state_stats(index: KeptIndex, rows: np.ndarray, bound: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """STATE_STATS: each state's count and median of dollar rates within the plausible range."""
    states, state_names = index.keyed("state", rows)
    types, type_names = index.keyed("unit_type", rows)
    rate = index.rate[rows]
    with np.errstate(invalid="ignore"):  # NULL rates (NaN) compare false, as SQL's NULL
        wanted = ((states < len(state_names) - 1) & (rate > 0) & (rate <= bound["plausible_max"])
                  & np.isin(types, [index_of(type_names, t) for t in DOLLAR_TYPES]))
    picked = rows[wanted]
    if not len(picked):
        return []
    group, firsts = renumber(*index.group_of("state", picked))
    order = index.sorter(picked)(("state", "rate"))  # each state group's run, by rate
    median = runs_quantiles(index.rate[picked], order, group, len(firsts), (0.5,))[0].tolist()
    counts = np.bincount(group, minlength=len(firsts)).tolist()
    keys = {name: index.keyed(name, picked[firsts]) for name in _STATE_KEYS}
    keys["negotiated_type"] = keys.pop("unit_type")
    return [{**{name: keys[name][1][keys[name][0][i]] for name in _STATE_COLUMNS},
             "n": counts[i], "median": median[i]} for i in range(len(firsts))]


def missing_fields(index: KeptIndex, rows: np.ndarray) -> dict[str, int]:
    """MISSING_FIELDS: how many rows lack each field."""
    def nulls(name: str) -> int:
        codes, names = index.keyed(name, rows)
        return int(np.count_nonzero(codes == len(names) - 1))

    assert index.no_service_code is not None  # a kept table has service_code
    return {"n": len(rows), "no_setting": nulls("setting"),
            "no_billing_class": nulls("billing_class"), "no_state": nulls("state"),
            "no_service_code": int(np.count_nonzero(index.no_service_code[rows])),
            "no_rate": len(rows) - int(np.count_nonzero(index.has_rate[rows]))}


def files_used(index: KeptIndex, rows: np.ndarray) -> list[dict[str, Any]]:
    """FILES_USED: the rows of each file, in file_id order (NULL last)."""
    return [{"file_id": name, "n_rows": n} for name, n in _counts(index, "file_id", rows)]


def payer_names(index: KeptIndex, rows: np.ndarray) -> list[dict[str, Any]]:
    """PAYER_NAMES: the rows of each payer name as written (NULL left out)."""
    return [{"payer_raw": name, "n": n} for name, n in _counts(index, "payer_raw", rows)
            if name is not None]


def national_reasons(index: KeptIndex, rows: np.ndarray) -> list[dict[str, Any]]:
    """``locality_queries.national_reasons``: the rows of each reason a row's Medicare amount
    is the national one, most rows first (then by reason)."""
    counted = [(name, n) for name, n in _counts(index, "medicare_locality_reason", rows)
               if name is not None]
    return [{"reason": name, "n": n} for name, n in sorted(counted, key=lambda r: (-r[1], r[0]))]


def _counts(index: KeptIndex, name: str, rows: np.ndarray) -> list[tuple[Any, int]]:
    """Each value of column ``name`` among ``rows`` with its rows, in value order (NULL last)."""
    codes, names = index.keyed(name, rows)
    counts = np.bincount(codes, minlength=len(names)).tolist()
    return [(value, n) for value, n in zip(names, counts, strict=True) if n]
