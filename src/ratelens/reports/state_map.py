"""An inline SVG tile map of the US states (one square per state, no geometry, no URL).

Each state with rates is shaded by its value (light: low, dark: high) and carries its figure
in a ``<title>``; states without data stay grey and say so. The layout is the familiar tile
grid (Alaska top left, Hawaii and Puerto Rico bottom), small enough to read at phone width.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from xml.sax.saxutils import escape

# (column, row) of each state's tile.
TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (11, 0),
    "VT": (10, 1), "NH": (11, 1), "WI": (6, 1),
    "WA": (1, 2), "ID": (2, 2), "MT": (3, 2), "ND": (4, 2), "MN": (5, 2), "IL": (6, 2),
    "MI": (7, 2), "NY": (9, 2), "MA": (10, 2),
    "OR": (1, 3), "NV": (2, 3), "WY": (3, 3), "SD": (4, 3), "IA": (5, 3), "IN": (6, 3),
    "OH": (7, 3), "PA": (8, 3), "NJ": (9, 3), "CT": (10, 3), "RI": (11, 3),
    "CA": (1, 4), "UT": (2, 4), "CO": (3, 4), "NE": (4, 4), "MO": (5, 4), "KY": (6, 4),
    "WV": (7, 4), "VA": (8, 4), "MD": (9, 4), "DE": (10, 4),
    "AZ": (2, 5), "NM": (3, 5), "KS": (4, 5), "AR": (5, 5), "TN": (6, 5), "NC": (7, 5),
    "SC": (8, 5), "DC": (9, 5),
    "OK": (4, 6), "LA": (5, 6), "MS": (6, 6), "AL": (7, 6), "GA": (8, 6),
    "HI": (0, 7), "TX": (4, 7), "FL": (9, 7), "PR": (11, 7),
}
TILE = 34  # px, a tile's side
GAP = 3
LEGEND_H = 34
NO_DATA = "#e3e6ea"
LIGHT, DARK = (0xDC, 0xE8, 0xF5), (0x1F, 0x3B, 0x63)


def state_map(
    values: Mapping[str, float], write: Callable[[float], str], *, label: str
) -> str:
    """The SVG: ``values`` per two-letter state, ``write`` turns a value into text."""
    cols = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    width, height = cols * (TILE + GAP), rows * (TILE + GAP) + LEGEND_H
    known = {s: v for s, v in values.items() if s in TILES}
    lo, hi = (min(known.values()), max(known.values())) if known else (0.0, 0.0)
    parts = [
        f'<svg class="state-map" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(label)}</title>",
    ]
    for state, (c, r) in sorted(TILES.items()):
        x, y = c * (TILE + GAP), r * (TILE + GAP)
        value = known.get(state)
        fill = NO_DATA if value is None else _shade(value, lo, hi)
        ink = "#fff" if value is not None and _share(value, lo, hi) > 0.55 else "#1c2430"
        said = "no data" if value is None else write(value)
        parts.append(
            f'<g><title>{state}: {escape(said)}</title>'
            f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="3" fill="{fill}"/>'
            f'<text x="{x + TILE / 2}" y="{y + TILE / 2 + 4}" text-anchor="middle" '
            f'fill="{ink}">{state}</text></g>'
        )
    parts += _legend(lo, hi, write, height, bool(known))
    parts.append("</svg>")
    return "\n".join(parts)


def _share(value: float, lo: float, hi: float) -> float:
    return 0.5 if hi <= lo else (value - lo) / (hi - lo)


def _shade(value: float, lo: float, hi: float) -> str:
    t = 0.15 + 0.85 * _share(value, lo, hi)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(LIGHT, DARK, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _legend(
    lo: float, hi: float, write: Callable[[float], str], height: int, any_data: bool
) -> list[str]:
    y = height - LEGEND_H + 10
    out = [f'<rect x="0" y="{y}" width="14" height="14" fill="{NO_DATA}"/>',
           f'<text x="18" y="{y + 11}">no data</text>']
    if any_data:
        out += [
            f'<rect x="80" y="{y}" width="14" height="14" fill="{_shade(lo, lo, hi)}"/>',
            f'<text x="98" y="{y + 11}">{escape(write(lo))}</text>',
            f'<rect x="200" y="{y}" width="14" height="14" fill="{_shade(hi, lo, hi)}"/>',
            f'<text x="218" y="{y + 11}">{escape(write(hi))}</text>',
        ]
    return out
