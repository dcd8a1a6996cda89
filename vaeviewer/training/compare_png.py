"""compare.png drawn with Pillow (a dependency already): two panels, legends beside them, no Qt.

The top panel shows every row's validation MSE per epoch with the baselines as dashed lines;
the bottom one every row's per-frame validation error along the data. Each legend sits in a
column to the right of its panel, so it never covers a curve, and every axis title is placed
from the measured size of its tick labels, so titles never touch them. Drawn at twice the size
and scaled down, which smooths the lines (Pillow draws them without anti-aliasing).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

# matplotlib's tab10 (as the app's Runs panel colours its rows), then they repeat.
ROW_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
               (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
BASELINE_COLOUR = (80, 80, 80)
# On/off lengths (at scale 1) of the baselines' dashes, one pattern per baseline.
DASHES = [(10, 5), (2, 3), (10, 4, 2, 4), (10, 3, 2, 3, 2, 3)]
AXIS_COLOUR, GRID_COLOUR, TEXT_COLOUR = (60, 60, 60), (228, 228, 228), (20, 20, 20)
SCALE = 2   # drawn at twice the size, then scaled down: smooth lines and text


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size * SCALE)
    except TypeError:   # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(target - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    # The step whose number of ticks comes closest to `target` (ties: the rounder, larger step).
    step = min((m * power for m in (10, 5, 2, 1, 2.5, 0.5)),
               key=lambda st: abs((math.floor(hi / st + 1e-9) - math.ceil(lo / st - 1e-9) + 1) - target))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick's label with as many decimals as the tick step needs (or in e-notation when tiny)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    biggest = max(abs(t) for t in ticks) or 1.0
    if biggest < 1e-3 or biggest >= 1e5:
        return f"{value:.2e}" if value else "0"
    decimals = next((d for d in range(12) if abs(step * 10 ** d - round(step * 10 ** d)) < 1e-6 * 10 ** d * step), 12)
    return f"{value:.{decimals}f}"


class _Panel:
    """One plot: a data rectangle on the page, its ranges, and the drawing helpers."""

    def __init__(self, draw, box: tuple[int, int, int, int], x_range: tuple[float, float],
                 y_range: tuple[float, float]):
        self.draw, self.box = draw, box
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range

    def px(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, top, right, bottom = self.box
        u = left + (np.asarray(x, np.float64) - self.x0) / (self.x1 - self.x0) * (right - left)
        v = bottom - (np.asarray(y, np.float64) - self.y0) / (self.y1 - self.y0) * (bottom - top)
        return u, v

    def polyline(self, x: np.ndarray, y: np.ndarray, colour, width: int) -> None:
        """Draw the finite stretches of a curve (a NaN breaks it), clipped to the panel."""
        left, top, right, bottom = self.box
        u, v = self.px(x, y)
        v = np.clip(v, top, bottom)
        finite = np.isfinite(u) & np.isfinite(v)
        start = None
        for i in range(len(u) + 1):
            if i < len(u) and finite[i]:
                start = i if start is None else start
                continue
            if start is not None and i - start >= 2:
                self.draw.line(list(zip(u[start:i].tolist(), v[start:i].tolist())), fill=colour,
                               width=width * SCALE, joint="curve")
            start = None

    def marker(self, x: float, y: float, colour, radius: int = 4) -> None:
        u, v = self.px(np.array([x]), np.array([y]))
        r = radius * SCALE
        self.draw.ellipse([u[0] - r, v[0] - r, u[0] + r, v[0] + r], fill=colour, outline=(255, 255, 255))

    def dashed_hline(self, y: float, colour, pattern: Sequence[int], width: int = 1) -> None:
        left, _top, right, _bottom = self.box
        _u, v = self.px(np.array([self.x0]), np.array([y]))
        _dashed(self.draw, left, right, float(v[0]), colour, pattern, width)


def _dashed(draw, x_from: float, x_to: float, y: float, colour, pattern: Sequence[int], width: int = 1,
            vertical: Optional[float] = None) -> None:
    """A dashed line from x_from to x_to at height y; or, with `vertical` (an x), from y x_from to x_to."""
    x, i = x_from, 0
    while x < x_to:
        length = pattern[i % len(pattern)] * SCALE
        end = min(x + length, x_to)
        if i % 2 == 0:
            ends = [(vertical, x), (vertical, end)] if vertical is not None else [(x, y), (end, y)]
            draw.line(ends, fill=colour, width=width * SCALE)
        x += length
        i += 1


def _text(draw, boxes: dict, key: str, xy: tuple[float, float], text: str, font, anchor: str, fill=TEXT_COLOUR) -> None:
    """Draw `text` and widen boxes[key] to cover it."""
    draw.text(xy, text, fill=fill, font=font, anchor=anchor)
    _grow(boxes, key, draw.textbbox(xy, text, font=font, anchor=anchor))


def _grow(boxes: dict, key: str, box) -> None:
    old = boxes.get(key)
    boxes[key] = tuple(box) if old is None else (min(old[0], box[0]), min(old[1], box[1]),
                                                 max(old[2], box[2]), max(old[3], box[3]))


def _text_size(draw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _finite_range(values: list[float], pad_fraction: float = 0.08, floor_zero: bool = False) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * pad_fraction or max(abs(hi) * 0.05, 1e-9)
    lo, hi = lo - pad, hi + pad
    if floor_zero and min(finite) >= 0:
        lo = max(lo, 0.0)
    return lo, hi


def _legend_rows(entries: list[tuple[str, Any, Optional[Sequence[int]]]], max_chars: int) -> list:
    return [(label if len(label) <= max_chars else label[: max_chars - 1] + "…", colour, dash)
            for label, colour, dash in entries]


def _frame_curve(position: np.ndarray, error: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about 2 points per pixel column (each column's min and max, in order), so long data stay readable."""
    position = np.asarray(position, np.float64)
    error = np.asarray(error, np.float64)
    if len(position) <= 2 * columns:
        return position, error
    edges = np.linspace(position[0], position[-1], columns + 1)
    column = np.clip(np.searchsorted(edges, position, side="right") - 1, 0, columns - 1)
    xs, ys = [], []
    for c in np.unique(column):
        part = np.flatnonzero(column == c)
        values = error[part]
        if not np.isfinite(values).any():
            continue
        low, high = part[np.nanargmin(values)], part[np.nanargmax(values)]
        for k in sorted({low, high}):
            xs.append(position[k])
            ys.append(error[k])
    return np.asarray(xs), np.asarray(ys)


def draw_compare_png(path: str | Path, series: dict[str, Any], width: int = 1100) -> bool:
    """Write compare.png for `series` (compare's plot_series dict). True when written."""
    from vaeviewer.atomic import atomic_target

    image, _boxes = render(series, width)
    with atomic_target(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG")
    return True


def render(series: dict[str, Any], width: int = 1100):
    """The picture (a PIL image) and where its parts lie: {"top.data": (l, t, r, b), "top.legend": ...}.

    Parts per panel ("top", "bottom"): data, legend, title, x_ticks, x_title, y_ticks, y_title, in
    the image's pixels; a part that draws nothing is absent.
    """
    from PIL import Image, ImageDraw

    boxes: dict[str, tuple[float, float, float, float]] = {}
    rows = series["rows"]
    baselines = series["baselines"]
    title_font, label_font, tick_font, legend_font = _font(15), _font(13), _font(12), _font(12)
    s = SCALE
    legend_width = 250
    colours = [ROW_COLOURS[i % len(ROW_COLOURS)] for i in range(len(rows))]
    top_entries = [(r["label"] + ("" if any(np.isfinite(r["val_mse"])) else " (no epoch)"), c, None)
                   for r, c in zip(rows, colours)]
    if baselines:
        top_entries.append(("baselines:", None, None))
    top_entries += [(f"{name} {value:.4g}", BASELINE_COLOUR, DASHES[j % len(DASHES)])
                    for j, (name, value) in enumerate(baselines.items())]
    with_frames = [(r, c) for r, c in zip(rows, colours) if r.get("frame_position") is not None
                   and len(r["frame_position"])]
    bottom_entries = [(r["label"], c, ()) for r, c in with_frames]   # a plain line, as the curves

    # Each panel is tall enough for its legend (many rows and window sizes make a long one).
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    frame = (14 + 8 + 10 + 8 + 8 + 5 + 3 + 8) * s + _text_size(probe, "Mg", title_font)[1] \
        + _text_size(probe, "Mg", label_font)[1] + _text_size(probe, "0123456789", tick_font)[1]
    heights = [max(330, math.ceil((frame + _legend_step(probe, legend_font) * (len(entries) + 1)) / s))
               for entries in (top_entries, bottom_entries)]
    height = sum(heights) + 40
    image = Image.new("RGB", (width * s, height * s), "white")
    draw = ImageDraw.Draw(image)

    # Top: val MSE per epoch (integer epochs), y range over the rows and the baselines.
    n_epochs = max((len(r["epochs"]) for r in rows), default=1) or 1
    top_values = [v for r in rows for v in r["val_mse"]] + list(baselines.values())
    x_ticks = list(range(1, n_epochs + 1)) if n_epochs <= 12 else \
        [t for t in nice_ticks(1, n_epochs, target=10) if t == int(t) and t >= 1]
    top_panel = _draw_panel(
        image, draw, boxes, "top", (0, 0, width, heights[0]), "validation MSE per epoch; dashed: the baselines",
        "epoch", "validation MSE", (0.5, n_epochs + 0.5), _finite_range(top_values, 0.1), x_ticks,
        legend_width, _legend_rows(top_entries, 34), (title_font, label_font, tick_font, legend_font))
    for j, value in enumerate(baselines.values()):
        top_panel.dashed_hline(value, BASELINE_COLOUR, DASHES[j % len(DASHES)], width=1)
    for i, (r, colour) in enumerate(zip(rows, colours)):
        x = np.asarray(r["epochs"], np.float64)
        if n_epochs == 1:   # side by side, so that close values do not hide one another
            x = x + (i - (len(rows) - 1) / 2) * min(0.06, 0.6 / max(len(rows), 1))
        y = np.asarray(r["val_mse"], np.float64)
        top_panel.polyline(x, y, colour, 2)
        radius = 4 if n_epochs <= 20 else 2 if n_epochs <= 60 else 0   # dots, not a bead string
        for xi, yi in zip(x, y):
            if math.isfinite(yi) and (radius or len(x) == 1):
                top_panel.marker(xi, yi, colour, max(radius, 2))

    # Bottom: per-frame validation error along the data.
    positions = [np.asarray(r["frame_position"], np.float64) for r, _c in with_frames]
    errors = [np.asarray(r["frame_error"], np.float64) for r, _c in with_frames]
    if positions:
        x_lo = min(float(p.min()) for p in positions)
        x_hi = max(float(p.max()) for p in positions)
        if x_hi <= x_lo:
            x_hi = x_lo + 1.0
        y_lo, y_hi = _finite_range([float(np.nanmin(e)) for e in errors if np.isfinite(e).any()]
                                   + [float(np.nanmax(e)) for e in errors if np.isfinite(e).any()], 0.05,
                                   floor_zero=True)
    else:
        x_lo, x_hi, y_lo, y_hi = 0.0, 1.0, 0.0, 1.0
    bottom_panel = _draw_panel(
        image, draw, boxes, "bottom", (0, heights[0], width, sum(heights)), "per-frame validation error along the data",
        "validation frame (the validation parts one after another; dotted: where a part begins)", "per-frame MSE", (x_lo, x_hi),
        (y_lo, y_hi), None, legend_width, _legend_rows(bottom_entries, 34),
        (title_font, label_font, tick_font, legend_font), empty_note=None if positions else "no per-frame errors yet")
    for start in series.get("part_starts") if series.get("part_starts") is not None else []:
        if x_lo < start < x_hi:   # where one validation part ends and the next begins
            u, _v = bottom_panel.px(np.array([start]), np.array([y_lo]))
            _dashed(draw, bottom_panel.box[1], bottom_panel.box[3], 0, (170, 170, 170), (3, 3), 1, vertical=u[0])
    columns = (bottom_panel.box[2] - bottom_panel.box[0]) // s
    for (r, colour), p, e in zip(with_frames, positions, errors):
        xs, ys = _frame_curve(p, e, columns)
        bottom_panel.polyline(xs, ys, colour, 1)

    note = "lower is better; rows are drawn in the order they were trained"
    draw.text((12 * s, (height - 24) * s), note, fill=(110, 110, 110), font=tick_font)
    image = image.resize((width, height), Image.LANCZOS)
    return image, {name: tuple(v / s for v in box) for name, box in boxes.items()}


def _draw_panel(image, draw, boxes: dict, name: str, area: tuple[int, int, int, int], title: str, x_title: str, y_title: str,
                x_range: tuple[float, float], y_range: tuple[float, float], x_ticks: Optional[list[float]],
                legend_width: int, legend: list, fonts, empty_note: Optional[str] = None) -> _Panel:
    """Frame, grid, ticks, titles and legend of one panel; returns it for drawing the data."""
    title_font, label_font, tick_font, legend_font = fonts
    s = SCALE
    a_left, a_top, a_right, a_bottom = (v * s for v in area)
    y_ticks = nice_ticks(*y_range)
    y_labels = [tick_text(t, y_ticks) for t in y_ticks]
    tick_w = max(_text_size(draw, t, tick_font)[0] for t in y_labels)
    tick_h = _text_size(draw, "0123456789", tick_font)[1]
    label_h = _text_size(draw, "Mg", label_font)[1]
    title_h = _text_size(draw, title, title_font)[1]
    gap = 8 * s
    y_title_h = draw.textbbox((0, 0), y_title, font=label_font, anchor="lt")[3]
    # From the left: margin, the (rotated) y title, a gap, the tick labels, tick marks, the data.
    left = a_left + 10 * s + y_title_h + 10 * s + tick_w + 9 * s
    right = a_right - legend_width * s - 10 * s
    top = a_top + 14 * s + title_h + gap
    bottom = a_bottom - (10 * s + label_h + gap + tick_h + gap)
    panel = _Panel(draw, (left, top, right, bottom), x_range, y_range)

    boxes[f"{name}.data"] = (left, top, right, bottom)
    _text(draw, boxes, f"{name}.title", ((left + right) / 2, a_top + 14 * s), title, title_font, "mt")
    if x_ticks is None:
        x_ticks = nice_ticks(*x_range, target=8)
    x_labels = [tick_text(t, x_ticks) for t in x_ticks]
    for t in y_ticks:
        _u, v = panel.px(np.array([x_range[0]]), np.array([t]))
        draw.line([(left, v[0]), (right, v[0])], fill=GRID_COLOUR, width=s)
    for t in x_ticks:
        u, _v = panel.px(np.array([t]), np.array([y_range[0]]))
        draw.line([(u[0], top), (u[0], bottom)], fill=GRID_COLOUR, width=s)
    draw.rectangle([left, top, right, bottom], outline=AXIS_COLOUR, width=s)
    for t, text in zip(y_ticks, y_labels):
        _u, v = panel.px(np.array([x_range[0]]), np.array([t]))
        draw.line([(left - 5 * s, v[0]), (left, v[0])], fill=AXIS_COLOUR, width=s)
        _text(draw, boxes, f"{name}.y_ticks", (left - 5 * s - 4 * s, v[0]), text, tick_font, "rm")
    for t, text in zip(x_ticks, x_labels):
        u, _v = panel.px(np.array([t]), np.array([y_range[0]]))
        draw.line([(u[0], bottom), (u[0], bottom + 5 * s)], fill=AXIS_COLOUR, width=s)
        _text(draw, boxes, f"{name}.x_ticks", (u[0], bottom + 5 * s + 3 * s), text, tick_font, "mt")
    _text(draw, boxes, f"{name}.x_title", ((left + right) / 2, bottom + 5 * s + 3 * s + tick_h + gap), x_title,
          label_font, "mt")
    boxes[f"{name}.y_title"] = _vertical_text(image, draw, (a_left + 10 * s, (top + bottom) / 2), y_title, label_font)
    if empty_note:
        draw.text(((left + right) / 2, (top + bottom) / 2), empty_note, fill=(120, 120, 120), font=label_font,
                  anchor="mm")
    if legend:
        boxes[f"{name}.legend"] = _legend(draw, (right + 16 * s, top), legend, legend_font)
    return panel


def _vertical_text(image, draw, at: tuple[float, float], text: str, font) -> tuple[int, int, int, int]:
    """`text` turned a quarter left, its left edge at at[0], centred vertically on at[1]."""
    from PIL import Image, ImageDraw

    _l, _t, w, h = draw.textbbox((0, 0), text, font=font, anchor="lt")
    stamp = Image.new("L", (w, h), 0)
    ImageDraw.Draw(stamp).text((0, 0), text, fill=255, font=font, anchor="lt")
    stamp = stamp.rotate(90, expand=True)
    x, y = int(at[0]), int(at[1] - stamp.size[1] / 2)
    image.paste(Image.new("RGB", stamp.size, TEXT_COLOUR), (x, y), stamp)
    return (x, y, x + stamp.size[0], y + stamp.size[1])


def _legend_step(draw, font) -> int:
    return _text_size(draw, "Mg", font)[1] + 9 * SCALE


def _legend(draw, at: tuple[float, float], entries: list, font) -> tuple[float, float, float, float]:
    """Draw the entries from `at` down and return their box.

    An entry is (label, colour, dash): colour None makes a heading; dash None a line with a dot
    (a row of the epoch panel), () a plain line, else a dashed line of that pattern (a baseline).
    """
    s = SCALE
    x, y = at
    line_h = _legend_step(draw, font)
    boxes: dict = {}
    _grow(boxes, "legend", (x, y, x + 26 * s, y + line_h))
    for label, colour, dash in entries:
        mid = y + line_h / 2
        if colour is None:   # a heading: text only, after a little space
            _text(draw, boxes, "legend", (x, mid + 4 * s), label, font, "lm", fill=(110, 110, 110))
            y += line_h + 4 * s
            continue
        if dash is None or not dash:   # a row: its line (with its dots in the epoch panel)
            draw.line([(x, mid), (x + 26 * s, mid)], fill=colour, width=2 * s)
            r = 3 * s
            if dash is None:
                draw.ellipse([x + 13 * s - r, mid - r, x + 13 * s + r, mid + r], fill=colour)
        else:
            _dashed(draw, x, x + 26 * s, mid, colour, dash, 1)
        _text(draw, boxes, "legend", (x + 34 * s, mid), label, font, "lm")
        y += line_h
    _grow(boxes, "legend", (x, at[1], x + 26 * s, y))
    return boxes["legend"]
