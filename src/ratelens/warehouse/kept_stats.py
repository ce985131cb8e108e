"""``rate_queries.GROUP_STATS`` computed in numpy from a report's selected rows.

The web app keeps a code's rows with their index (``kept_index.KeptIndex``: every text column
ranked, the rates sorted, once per kept table); running GROUP_STATS over a request's
selection in DuckDB costs ~165 ms of CPU per 100,000 rates. Here the same rows come out of
the kept rows' rate order restricted to the selection, a radix sort of small group numbers
and index arithmetic: every group's rows sorted by (group, outlier flag, rate) lie in one
run, its inliers first, so each statistic is a slice (100,000 rates: ~25 ms of CPU). The
rows, their order, their values and their Python types are those of GROUP_STATS
(tests/warehouse/test_kept_stats.py and test_kept_queries.py compare both on random
selections):

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
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ratelens.warehouse.kept_index import KeptIndex, Keyed, index_of, rerank
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
    keys = {name: index.keyed(name, kept) for name in GROUP_KEYS if name != "negotiated_type"}
    keys["negotiated_type"] = index.keyed("unit_type", kept)
    by_rate = index.sorted_rows(index.by_rate, kept, rate)
    flag = _flags(rate, keys, bound, by_rate)
    group, firsts = dense([keys[k][0] for k in GROUP_KEYS])
    order = _grouped(by_rate, group * 3 + flag)  # inliers, outliers, NULL
    sizes = np.bincount(group)
    n_in = np.bincount(group[flag == 0], minlength=len(sizes))
    n_out = np.bincount(group[flag == 1], minlength=len(sizes))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    inlier = flag == 0
    ordered = rate[order]
    cols = {"sorted": ordered, "starts": starts, "n": n_in, "n_out": n_out,
            "q": [_interpolate(ordered, starts, n_in, q).tolist() for q in QUANTILES]}
    cols |= _basis(index, kept, group, inlier, len(sizes))
    pooled = _pooled(rate, keys, inlier, bound["code"], by_rate)
    return [_row(i, keys, firsts[i], cols, bound["dots_cap"], pooled) for i in range(len(sizes))]


def _flags(rate: np.ndarray, keys: dict[str, Keyed], bound: dict[str, Any],
           by_rate: np.ndarray) -> np.ndarray:
    """Each row's ``is_outlier``: 0 false, 1 true, 2 NULL (a NULL type the rules flag).
    ``by_rate``: the rows in rate order."""
    setting_key = rerank(*_blank(keys["setting"]))[0]
    class_key = rerank(*_blank(keys["billing_class"]))[0]
    medians_of, _ = dense([keys["billing_code"][0], keys["payer"][0], setting_key, class_key,
                            keys["modifier_key"][0], keys["negotiated_type"][0]])
    plausible_max, ratio = bound["plausible_max"], bound["outlier_ratio"]
    counted = (rate > 0) & (rate <= plausible_max)
    median = quantiles(rate, medians_of, int(medians_of.max()) + 1, (0.5,),
                       by_rate[counted[by_rate]])[0]
    reference = median[medians_of]
    with np.errstate(invalid="ignore"):  # NULL medians (NaN) compare false, as SQL's NULL
        rule = ((rate <= 0.01) | (rate > plausible_max) | (rate > reference * ratio)
                | (rate < reference / ratio))
    types, type_names = keys["negotiated_type"]
    flag = rule.astype(np.int8)
    flag[types == index_of(type_names, "percentage")] = 0
    flag[(types == len(type_names) - 1) & rule] = 2  # NULL NOT IN (...) AND true: NULL
    return flag


def _blank(keyed: Keyed) -> tuple[np.ndarray, list[Any]]:
    """coalesce(value, '')."""
    return keyed[0], ["" if n is None else n for n in keyed[1]]


def dense(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group (0, 1, ... in the keys' order) and each group's first row."""
    group = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        group = group * (int(c.max()) + 1) + c
        if int(group.max()) >= 1 << 40:  # keep the mixed radix far from overflow
            group = np.unique(group, return_inverse=True)[1].ravel()
    if int(group.max()) >= 1 << 24:
        _, firsts, dense = np.unique(group, return_index=True, return_inverse=True)
        return dense.ravel(), firsts
    present = np.bincount(group) > 0  # a lookup table: no sort
    dense = (np.cumsum(present) - 1)[group]
    firsts = np.empty(int(present.sum()), dtype=np.int64)
    firsts[dense] = np.arange(len(group))  # any row of a group: they share its keys
    return dense, firsts


def _grouped(by_value: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The rows in ``group`` order, each group's in ``by_value`` order (rows by value): a
    stable sort of small integers (a radix sort) after one sort of the values."""
    keys = group[by_value]
    keys = keys.astype(np.uint16) if int(keys.max(initial=0)) < 1 << 16 else keys
    return by_value[np.argsort(keys, kind="stable")]


def quantiles(values: np.ndarray, groups: np.ndarray, n_groups: int,
              qs: tuple[float, ...], by_value: np.ndarray) -> list[np.ndarray]:
    """Each group's ``quantile_cont`` at each of ``qs`` (NaN: no value) of the ``values`` of
    the rows ``by_value`` (in value order)."""
    order = _grouped(by_value, groups)
    ordered = values[order]
    counts = np.bincount(groups[by_value], minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
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
           n_groups: int) -> dict[str, Any]:
    """The Medicare-basis and file columns of each group (see GROUP_STATS)."""
    pct, national, local = index.pct[rows], index.national[rows], index.is_local[rows]
    localities = index.keyed("medicare_locality", rows)
    settings = index.keyed("medicare_setting", rows)
    files = index.keyed("file_id", rows)
    has_pct, has_nat = inlier & ~np.isnan(pct), inlier & ~np.isnan(national)
    by_pct = index.sorted_rows(index.by_pct, rows, pct)
    by_national = index.sorted_rows(index.by_national, rows, national)
    located = inlier & local & (localities[0] < len(localities[1]) - 1)
    set_rows = inlier & (settings[0] < len(settings[1]) - 1)
    return {
        "pct": quantiles(pct, group, n_groups, (0.25, 0.5, 0.75), by_pct[has_pct[by_pct]]),
        "national": quantiles(national, group, n_groups, (0.5,),
                              by_national[has_nat[by_national]])[0],
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


def _pooled(rate: np.ndarray, keys: dict[str, Keyed], inlier: np.ndarray,
            code: str | None, by_rate: np.ndarray) -> float | None:
    """The median of the asked code's dollar inliers (two middle ranks' mean), or None."""
    codes, names = keys["billing_code"]
    types, type_names = keys["negotiated_type"]
    dollar = [index_of(type_names, t) for t in DOLLAR_TYPES]
    asked = index_of(names, code) if code is not None else -1  # no code: no row
    wanted = inlier & (codes == asked) & np.isin(types, dollar)
    picked = rate[by_rate[wanted[by_rate]]]  # in rate order
    if not len(picked):
        return None
    n = len(picked)
    return float((picked[(n - 1) // 2] + picked[n // 2]) / 2)


def _row(i: int, keys: dict[str, Keyed], first: int, cols: dict[str, Any], dots_cap: int,
         pooled: float | None) -> dict[str, Any]:
    """GROUP_STATS's row of group ``i`` (columns in its order)."""
    n, n_out, start = int(cols["n"][i]), int(cols["n_out"][i]), int(cols["starts"][i])
    inliers = cols["sorted"][start:start + n]
    row = {k: keys[k][1][keys[k][0][first]] for k in GROUP_KEYS}
    quantiles = [_value(q[i]) for q in cols["q"]]
    row |= {
        "n": n, "n_outliers": n_out,
        "min": float(inliers[0]) if n else None, "max": float(inliers[-1]) if n else None,
        "outliers": cols["sorted"][start + n:start + n + n_out].tolist() if n_out else None,
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
