"""HTML building blocks for the reports: tables, cell marks and inline SVG charts (no scripts, no assets)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 640
PALETTE = ["#1f4e79", "#b3470b", "#3a6b22", "#6b2f94", "#8a6d00", "#1b6f6f"]
DASHES = ["", "7 4", "2 3", "9 3 2 3", "4 4", "1 3"]
INK = "#222"
GRID = "#d9d9d9"
SUPP = '<abbr class="supp" title="suppressed">\u00b7</abbr>'
NC = '<abbr title="not covered by national law in that year">n/c</abbr>'
NA = '<span title="no value">\u2013</span>'


def num(row: dict | None, col: str = "value") -> str:
    """A count as shown: a suppressed cell as the suppression mark (never 0), a missing one as a dash, a
    differentially private one with its 95% bound."""
    if row is None:
        return NA
    if row.get("suppressed"):
        return SUPP
    v = row.get(col)
    if v is None:
        return NA
    text = f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"
    bound = row.get("bound_95") if col == "value" else None  # a differentially private figure's 95% bound
    return text if bound is None else f"{text} \u00b1 {bound:,}"


def pct(x: float | None, signed: bool = False) -> str:
    return NA if x is None else (f"{x:+.1f}%" if signed else f"{x:.1f}%")


def span(interval: tuple[float, float] | None) -> str:
    return NA if interval is None else f"{interval[0]:,.0f}\u2013{interval[1]:,.0f}"


def table(caption: str, head: list[str], rows: list[list[str]], text_cols: tuple[int, ...] = ()) -> str:
    """An accessible table; cells are HTML already; the first cell of each row is its row header."""
    out = [f"<table><caption>{caption}</caption><thead><tr>", *(f'<th scope="col">{h}</th>' for h in head)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        cells = [f'<td class="text">{c}</td>' if i in text_cols else f"<td>{c}</td>" for i, c in enumerate(r[1:], 1)]
        out.append(f'<tr><th scope="row">{r[0]}</th>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    if any(SUPP in c for r in rows for c in r):
        out.append(f'<p class="fn">{SUPP} suppressed: see <a href="#disclosure">disclosure control</a>.</p>')
    return "".join(out)


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if not top or top <= 0:
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _tick(v: float, suffix: str = "") -> str:
    text = f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"
    return text + suffix


def _short(label: str, n: int = 30) -> str:
    return label if len(label) <= n else label[: n - 1] + "\u2026"


def _open(ident: str, height: int, title: str, desc: str) -> str:
    return (
        f'<svg class="chart" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{ident}-t {ident}-d" id="{ident}">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "lbl", full: str | None = None) -> str:
    tip = f"<title>{escape(full)}</title>" if full and full != text else ""
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{tip}{escape(text)}</text>'


def _y_axis(left: float, right: float, top: float, bottom: float, ticks: list[float], suffix: str) -> list[str]:
    out = []
    scale = (bottom - top) / (ticks[-1] or 1)
    for t in ticks:
        y = bottom - t * scale
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(left - 6, y + 4, _tick(t, suffix), "end"))
    out.append(f'<path class="axis" d="M{left} {top}V{bottom}H{right}" fill="none" stroke="{INK}"/>')
    return out


def line_chart(
    ident: str,
    title: str,
    desc: str,
    xs: Sequence[int],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    mark_x: int | None = None,
    mark_label: str = "",
    suffix: str = "",
    y_top: float | None = None,
) -> str:
    """A line per series over the years `xs`; a missing (suppressed) value breaks the line."""
    height, left, right, top, bottom = 300, 60, WIDTH - 170, 24, 260
    values = [v for _, ys in series for v in ys if v is not None]
    ticks = nice_ticks(max([*values, y_top or 0]) if values else 1)
    scale = (bottom - top) / ticks[-1]
    step = (right - left - 20) / max(len(xs) - 1, 1)

    def px(i: int) -> float:
        return left + 10 + i * step

    out = [_open(ident, height, title, desc), *_y_axis(left, right, top, bottom, ticks, suffix)]
    for i, x in enumerate(xs):
        out.append(_text(px(i), bottom + 18, str(x), "middle"))
    if mark_x is not None and mark_x in xs:
        mark = px(list(xs).index(mark_x))
        out.append(
            f'<line class="baseline" x1="{mark:.1f}" x2="{mark:.1f}" y1="{top - 6}" y2="{bottom}" '
            f'stroke="{INK}" stroke-dasharray="3 3"/>'
        )
        out.append(_text(mark + 4, top - 8, mark_label or f"baseline {mark_x}", "start", "lbl small"))
    for s, (name, ys) in enumerate(series):
        colour, dash = PALETTE[s % len(PALETTE)], DASHES[s % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        segment: list[str] = []
        for i, v in enumerate([*ys, None]):
            if v is not None:
                segment.append(f"{px(i):.1f},{bottom - v * scale:.1f}")
                continue
            if len(segment) > 1:
                out.append(
                    f'<polyline class="mark" points="{" ".join(segment)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                )
            segment = []
        for i, v in enumerate(ys):
            if v is not None:
                out.append(
                    f'<circle class="mark" cx="{px(i):.1f}" cy="{bottom - v * scale:.1f}" r="3.5" fill="{colour}">'
                    f"<title>{escape(f'{name}, {xs[i]}: {_tick(v, suffix)}')}</title></circle>"
                )
        ly = top + 10 + s * 20
        out.append(
            f'<line x1="{right + 12}" x2="{right + 36}" y1="{ly}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        out.append(_text(right + 42, ly + 4, _short(name, 20), full=name))
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    ident: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float | None, str]],
    *,
    centered: bool = False,
) -> str:
    """Horizontal bars of (label, value, shown text); a missing value is drawn as its text only.

    `centered` draws each bar around a common middle line (a funnel)."""
    row, left, right, top = 24, 200, WIDTH - 70, 10
    height = top * 2 + row * len(items)
    values = [v for _, v, _ in items if v is not None]
    top_value = max(values) if values and max(values) > 0 else 1
    span = right - left
    out = [_open(ident, height, title, desc)]
    for i, (label, value, shown) in enumerate(items):
        y = top + i * row
        out.append(_text(left - 8, y + 16, _short(label), "end", full=label))
        if value is None:
            out.append(_text(left + 4, y + 16, shown, "start", "lbl supp"))
            continue
        width = max(span * value / top_value, 1.5 if value > 0 else 0)
        x = left + (span - width) / 2 if centered else left
        colour = PALETTE[0]
        if width:
            out.append(
                f'<rect class="mark" x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" fill="{colour}">'
                f"<title>{escape(f'{label}: {shown}')}</title></rect>"
            )
        tx = (x + width + 6) if not centered else (left + (span + width) / 2 + 6)
        out.append(_text(tx, y + 16, shown))
    if not centered:
        out.append(f'<path class="axis" d="M{left} {top}V{height - top}" fill="none" stroke="{INK}"/>')
    out.append("</svg>")
    return "".join(out)


def interval_chart(
    ident: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float | None, tuple[float, float] | None, tuple[float, float] | None, float | None]],
) -> str:
    """Per period: the estimate (dot) with 80% (thick bar) and 95% (thin bar) intervals, and the observed
    count (hollow square)."""
    height, left, right, top, bottom = 320, 60, WIDTH - 150, 20, 280
    values = [v for _, est, i80, i95, obs in rows for v in (est, obs, *(i80 or ()), *(i95 or ())) if v is not None]
    ticks = nice_ticks(max(values) if values else 1)
    scale = (bottom - top) / ticks[-1]
    step = (right - left) / max(len(rows), 1)
    out = [_open(ident, height, title, desc), *_y_axis(left, right, top, bottom, ticks, "")]

    def py(v: float) -> float:
        return bottom - v * scale

    for i, (label, est, i80, i95, obs) in enumerate(rows):
        x = left + step * (i + 0.5)
        out.append(_text(x, bottom + 18, label, "middle"))
        for interval, w, colour, name in ((i95, 3, "#5b7fa6", "95%"), (i80, 11, PALETTE[0], "80%")):
            if interval is not None:
                lo, hi = interval
                out.append(
                    f'<rect class="mark" x="{x - w / 2:.1f}" y="{py(hi):.1f}" width="{w}" '
                    f'height="{max(py(lo) - py(hi), 1):.1f}" fill="{colour}">'
                    f"<title>{escape(f'{label}: {name} interval {lo:,.0f} to {hi:,.0f}')}</title></rect>"
                )
        if est is not None:
            out.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{py(est):.1f}" r="4" fill="#fff" stroke="{INK}" '
                f'stroke-width="2"><title>{escape(f"{label}: estimate {est:,.0f}")}</title></circle>'
            )
        if obs is not None:
            out.append(
                f'<rect class="mark" x="{x + 9:.1f}" y="{py(obs) - 4:.1f}" width="8" height="8" fill="none" '
                f'stroke="{PALETTE[1]}" stroke-width="2"><title>{escape(f"{label}: observed {obs:,.0f}")}</title>'
                "</rect>"
            )
    legend = (
        (f'<circle cx="{right + 24}" cy="{{y}}" r="5" fill="#fff" stroke="{INK}" stroke-width="2"/>', "estimate"),
        (f'<rect x="{right + 19}" y="{{y0}}" width="11" height="14" fill="{PALETTE[0]}"/>', "80% interval"),
        (f'<rect x="{right + 23}" y="{{y0}}" width="3" height="14" fill="#5b7fa6"/>', "95% interval"),
        (
            f'<rect x="{right + 20}" y="{{y1}}" width="8" height="8" fill="none" stroke="{PALETTE[1]}" '
            'stroke-width="2"/>',
            "observed",
        ),
    )
    for j, (shape, name) in enumerate(legend):
        y = top + 10 + j * 22
        out.append(shape.format(y=y, y0=y - 7, y1=y - 4))
        out.append(_text(right + 40, y + 4, name))
    out.append("</svg>")
    return "".join(out)
