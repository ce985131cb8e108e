"""``rate_queries.GROUP_STATS`` computed in numpy from a report's selected rows.

The web app keeps a code's rows with their index (``kept_index.KeptIndex``: every text column
ranked, each row's group numbered and the rows sorted by group then rate, once per kept
table); running GROUP_STATS over a request's selection in DuckDB costs ~165 ms of CPU per
100,000 rates. Here the kept rows' order restricted to the selection puts every group's
rates in one run in rate order, no sort: the rules flag the rates out of one interval, so a
group's inliers are one run within it (the outliers below, then above), and each statistic
is a slice (100,000 rates: ~15 ms of CPU; 1 M rates ~0.2 s). The rows, their order, their
values and their Python types are those of GROUP_STATS (tests/warehouse/test_kept_stats.py
and test_kept_queries.py compare both on random selections):

- ``quantile_cont`` (and ``median``): position ``q * (n - 1)``, then DuckDB's
  ``lo * (1 - d) + hi * d`` as its build computes it (a fused multiply-add), bit for bit.
- The outlier flag is SQL's three-valued one: a row of NULL rate type that the rules would
  flag is NULL, in neither count (it still counts among the group's files).
- Groups tied on GROUP_STATS's ORDER BY (same keys but source kind or year) come in source
  kind then year order (SQL leaves their order open); ``medicare_settings`` (a set to its
  reader) is sorted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ratelens.warehouse.kept_index import KeptIndex, Keyed, index_of
from ratelens.warehouse.locality_queries import DOLLAR_TYPES

QUANTILES = (0.10, 0.25, 0.5, 0.75, 0.90)
# the group keys of GROUP_STATS's ``groups``, in its ORDER BY order (then the tied ones)
GROUP_KEYS = ("billing_code", "payer", "setting", "billing_class", "modifier_key",
              "negotiated_type", "source_kind", "rate_year")  # fmt: skip


def group_stats(selection: pa.Table | KeptIndex, bound: dict[str, Any],
                rows: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The rows of ``fetch(con, GROUP_STATS, bound)`` with ``selection`` as the selection: a
    table, or the kept rows' index and the selected ``rows`` of it (in row order; None: all)."""
    index = selection if isinstance(selection, KeptIndex) else KeptIndex(selection)
    every = np.arange(index.n_rows) if rows is None else rows
    kept = every[index.has_rate[every]]
    if not len(kept):
        return []
    rate = index.rate[kept]
    types = index.keyed("unit_type", kept)
    sort = index.sorter(kept)
    flag = _flags(index, kept, rate, types, bound, sort)
    group, firsts = renumber(*index.group_of("group", kept))
    n_groups = len(firsts)
    order = sort(("group", "rate"))  # each group's rows in a run, by rate
    sizes = np.bincount(group, minlength=n_groups)
    n_in = np.bincount(group[flag == 0], minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    ordered = rate[order]
    cols = {"sorted": ordered, "starts": starts, "sizes": sizes, "n": n_in,
            "n_out": np.bincount(group[flag == 1], minlength=n_groups),
            "first_in": starts + _n_below(flag[order], starts, n_in, sizes)}
    cols["q"] = [_interpolate(ordered, cols["first_in"], n_in, q).tolist() for q in QUANTILES]
    inlier = flag == 0
    cols |= _basis(index, kept, group, inlier, sort)
    keys = {name: index.keyed(name, kept[firsts]) for name in GROUP_KEYS
            if name != "negotiated_type"}
    keys["negotiated_type"] = index.keyed("unit_type", kept[firsts])
    pooled = _pooled(rate, index.keyed("billing_code", kept), types, inlier, bound["code"])
    return [_row(i, keys, cols, bound["dots_cap"], pooled) for i in range(n_groups)]


def renumber(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """``groups`` (of ``n_groups``) numbered 0, 1, ... over those present, in their order,
    and a row of each."""
    present = np.bincount(groups, minlength=n_groups) > 0
    dense = (np.cumsum(present) - 1)[groups]
    firsts = np.empty(int(present.sum()), dtype=np.int64)
    firsts[dense] = np.arange(len(groups))
    return dense, firsts


def _n_below(flags: np.ndarray, starts: np.ndarray, n_in: np.ndarray,
             sizes: np.ndarray) -> np.ndarray:
    """Each group's outliers below its inliers, from its rows' flags in rate order. The rules
    flag the rates out of one interval, so a group's inliers lie in one run of its rates:
    the outliers below it, then the inliers, then the outliers above (none: all "below")."""
    inliers = np.flatnonzero(flags == 0)
    out = sizes.copy()
    has = n_in > 0
    out[has] = inliers[(np.cumsum(n_in) - n_in)[has]] - starts[has]
    return out


def _flags(index: KeptIndex, kept: np.ndarray, rate: np.ndarray, types: Keyed,
           bound: dict[str, Any], sort: Callable[[tuple[str, str]], np.ndarray]) -> np.ndarray:
    """Each row's ``is_outlier``: 0 false, 1 true, 2 NULL (a NULL type the rules flag).
    ``sort``: ``index.sorter(kept)``."""
    medians_of, n_medians = index.group_of("median", kept)
    order = sort(("median", "rate"))
    plausible_max, ratio = bound["plausible_max"], bound["outlier_ratio"]
    counted = (rate > 0) & (rate <= plausible_max)
    picked = order[counted[order]]  # each median's rates in a run, in rate order
    counts = np.bincount(medians_of[picked], minlength=n_medians)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    reference = _interpolate(rate[picked], starts, counts, 0.5)[medians_of]
    with np.errstate(invalid="ignore"):  # NULL medians (NaN) compare false, as SQL's NULL
        rule = ((rate <= 0.01) | (rate > plausible_max) | (rate > reference * ratio)
                | (rate < reference / ratio))
    codes, type_names = types
    flag = rule.astype(np.int8)
    flag[codes == index_of(type_names, "percentage")] = 0
    flag[(codes == len(type_names) - 1) & rule] = 2  # NULL NOT IN (...) AND true: NULL
    return flag


def runs_quantiles(values: np.ndarray, picked: np.ndarray, groups: np.ndarray, n_groups: int,
                   qs: tuple[float, ...]) -> list[np.ndarray]:
    """Each group's ``quantile_cont`` at each of ``qs`` (NaN: no value) of the ``values`` of
    the rows ``picked``, which come by group, then in value order."""
    counts = np.bincount(groups[picked], minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ordered = values[picked]
    return [_interpolate(ordered, starts, counts, q) for q in qs]


def _interpolate(ordered: np.ndarray, starts: np.ndarray, counts: np.ndarray,
                 q: float) -> np.ndarray:
    """DuckDB's continuous quantile of each run ``ordered[start:start + count]``."""
    out = np.full(len(counts), np.nan)
    has = counts > 0
    pos = (counts[has] - 1).astype(np.float64) * q
    floor = np.floor(pos)
    lo = ordered[starts[has] + floor.astype(np.int64)]
    hi = ordered[starts[has] + np.ceil(pos).astype(np.int64)]
    out[has] = np.where(floor == pos, lo, _lerp(lo, hi, pos - floor))
    return out


def _lerp(lo: np.ndarray, hi: np.ndarray, d: np.ndarray) -> np.ndarray:
    """DuckDB's ``lo * (1.0 - d) + hi * d`` for doubles as compiled: a fused multiply-add,
    ``lo * (1 - d)`` exact plus the rounded ``hi * d``, rounded once. Exact sums of the error
    terms (Dekker's product, Knuth's sum) give it; the rare element whose error terms do not
    add exactly is done in fractions."""
    a, b, c = lo, 1.0 - d, hi * d
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo  # p + e == a * b
    s, t = _two_sum(p, c)  # s + t == p + c
    u, w = _two_sum(t, e)
    out = s + u
    for i in np.flatnonzero(w != 0).tolist():
        out[i] = float(Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i])))
    return out


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp's split of ``x`` into two halves of 26 bits (``high + low == x``)."""
    scaled = x * 134217729.0  # 2**27 + 1
    high = scaled - (scaled - x)
    return high, x - high


def _two_sum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x + y`` rounded and its exact error."""
    s = x + y
    v = s - x
    return s, (x - (s - v)) + (y - v)


def _basis(index: KeptIndex, rows: np.ndarray, group: np.ndarray, inlier: np.ndarray,
           sort: Callable[[tuple[str, str]], np.ndarray]) -> dict[str, Any]:
    """The Medicare-basis and file columns of each group (see GROUP_STATS; ``sort``:
    ``index.sorter(rows)``)."""
    n_groups = int(group.max()) + 1
    pct, national, local = index.pct[rows], index.national[rows], index.is_local[rows]
    localities = index.keyed("medicare_locality", rows)
    settings = index.keyed("medicare_setting", rows)
    files = index.keyed("file_id", rows)
    by_pct, by_national = sort(("group", "pct")), sort(("group", "national"))
    has_pct, has_nat = inlier & ~np.isnan(pct), inlier & ~np.isnan(national)
    located = inlier & local & (localities[0] < len(localities[1]) - 1)
    set_rows = inlier & (settings[0] < len(settings[1]) - 1)
    return {
        "pct": runs_quantiles(pct, by_pct[has_pct[by_pct]], group, n_groups, (0.25, 0.5, 0.75)),
        "national": runs_quantiles(national, by_national[has_nat[by_national]], group,
                                   n_groups, (0.5,))[0],
        "n_local": np.bincount(group[inlier & local], minlength=n_groups),
        "n_localities": np.bincount(_pairs(group[located], localities[0][located])[0],
                                    minlength=n_groups),
        "n_both": np.bincount(group[inlier & (settings[0] == index_of(settings[1], "both"))],
                              minlength=n_groups),
        "settings": _lists(*_pairs(group[set_rows], settings[0][set_rows]), settings[1], n_groups),
        "files": _lists(*_pairs(group, files[0]), files[1], n_groups),
    }


def _pairs(group: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, code) pairs, sorted (a table of them when small: no sort)."""
    width = int(codes.max(initial=0)) + 1
    flat = group * width + codes
    size = (int(group.max(initial=0)) + 1) * width
    pairs = np.flatnonzero(np.bincount(flat, minlength=size)) if size <= 1 << 22 \
        else np.unique(flat)
    return pairs // width, pairs % width


def _lists(group: np.ndarray, codes: np.ndarray, names: list[Any], n_groups: int) -> list[Any]:
    """Each group's names of ``codes`` in order (None: no row, as SQL's list of none)."""
    out: list[Any] = [None] * n_groups
    bounds = np.searchsorted(group, np.arange(n_groups + 1))
    for i in range(n_groups):
        if bounds[i] < bounds[i + 1]:
            out[i] = [names[c] for c in codes[bounds[i]:bounds[i + 1]].tolist()]
    return out


def _pooled(rate: np.ndarray, codes: Keyed, types: Keyed, inlier: np.ndarray,
            code: str | None) -> float | None:
    """The median of the asked code's dollar inliers (two middle ranks' mean), or None."""
    dollar = [index_of(types[1], t) for t in DOLLAR_TYPES]
    asked = index_of(codes[1], code) if code is not None else -1  # no code: no row
    picked = rate[inlier & (codes[0] == asked) & np.isin(types[0], dollar)]
    n = len(picked)
    if not n:
        return None
    middle = np.partition(picked, [(n - 1) // 2, n // 2])
    return float((middle[(n - 1) // 2] + middle[n // 2]) / 2)


def _row(i: int, keys: dict[str, Keyed], cols: dict[str, Any], dots_cap: int,
         pooled: float | None) -> dict[str, Any]:
    """GROUP_STATS's row of group ``i`` (columns in its order)."""
    n, n_out, start = int(cols["n"][i]), int(cols["n_out"][i]), int(cols["first_in"][i])
    rates = cols["sorted"]
    inliers = rates[start:start + n]
    below, end = int(cols["starts"][i]), int(cols["starts"][i] + cols["sizes"][i])
    row = {k: keys[k][1][keys[k][0][i]] for k in GROUP_KEYS}
    quantiles = [_value(q[i]) for q in cols["q"]]
    row |= {
        "n": n, "n_outliers": n_out,
        "min": float(inliers[0]) if n else None, "max": float(inliers[-1]) if n else None,
        "outliers": [*rates[below:start].tolist(), *rates[start + n:end].tolist()]
        if n_out else None,
        "pct_of_medicare_national": _value(cols["national"][i]),
        "n_local_basis": int(cols["n_local"][i]), "n_localities": int(cols["n_localities"][i]),
        "n_both_settings": int(cols["n_both"][i]), "medicare_settings": cols["settings"][i],
        "n_files": sum(f is not None for f in cols["files"][i] or ()),
        "file_ids": cols["files"][i],
        "p10": quantiles[0], "p25": quantiles[1], "median": quantiles[2],
        "p75": quantiles[3], "p90": quantiles[4],
        "rates": _dots(inliers, dots_cap) if n else None,
        "pct_of_medicare_p25": _value(cols["pct"][0][i]),
        "pct_of_medicare_median": _value(cols["pct"][1][i]),
        "pct_of_medicare_p75": _value(cols["pct"][2][i]),
        "pooled_median": pooled,
    }
    return row


def _dots(inliers: np.ndarray, cap: int) -> list[float]:
    """Every rate up to ``cap``, beyond it ``cap`` of them at evenly spaced ranks."""
    n = len(inliers)
    if n <= cap:
        return inliers.tolist()
    return inliers[np.arange(cap) * (n - 1) // (cap - 1)].tolist()


def _value(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
