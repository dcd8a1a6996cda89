"""The rows of `vaeviewer compare`: which variants and windows, their settings, and whether they fit the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError

ROW_VARIANTS = ("conv2d", "conv3d", "convlstm", "convlstm-stateful")
# The keys of compare.json's rows and compare.csv's columns, in order.
ROW_KEYS = ("variant", "window", "stateful", "val_mse", "pca_mse", "window_pca_mse", "mean_frame_mse",
            "vs_pca", "vs_equal_budget", "equal_budget_baseline", "val_kl", "samples_per_s", "seconds",
            "wall_seconds", "epochs", "steps", "budget_limited", "reason", "verdict", "beats_equal_budget",
            "verdict_text", "run_dir")
# With --budget-seconds and no --epochs, epochs are bounded by the clock, not by this.
BUDGET_EPOCHS = 100000


@dataclass
class PlannedRow:
    """One row of the comparison: its name (and run directory), the variant as listed, its settings."""

    name: str
    variant: str
    config: RunConfig


@dataclass
class RowResult:
    """A finished row: the table row, and what compare.png draws."""

    row: dict[str, Any]
    val_mse_per_epoch: list[float] = field(default_factory=list)
    # The per-frame validation error along the data (frames of every validation part, in order).
    frame_position: Optional[np.ndarray] = None
    frame_error: Optional[np.ndarray] = None
    # Where each validation part after the first begins on frame_position's axis.
    part_starts: Optional[np.ndarray] = None


def parse_variants(text: Optional[str]) -> list[str]:
    """'conv2d,conv3d' -> ['conv2d', 'conv3d']; None -> every variant. Raises VaeViewerError on a bad name."""
    if text is None:
        return list(ROW_VARIANTS)
    names = [v.strip() for v in str(text).split(",") if v.strip()]
    if not names:
        raise VaeViewerError(f"--variants {text!r}: name one or more of {', '.join(ROW_VARIANTS)}")
    bad = [v for v in names if v not in ROW_VARIANTS]
    if bad:
        raise VaeViewerError(f"--variants: {', '.join(repr(b) for b in bad)} is not one of {', '.join(ROW_VARIANTS)}")
    seen: list[str] = []
    for v in names:
        if v not in seen:
            seen.append(v)
    return seen


def parse_windows(text: Optional[str], default: int) -> list[int]:
    """'5,10,20' -> [5, 10, 20]; None -> [default]. Raises VaeViewerError on anything but whole numbers >= 2."""
    if text is None:
        return [int(default)]
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise VaeViewerError(f"--windows {text!r}: write whole numbers separated by commas, e.g. 5,10,20") from None
        if not 2 <= value <= 1000:
            raise VaeViewerError(f"--windows: {value} must be from 2 to 1000 frames (a window model needs at least 2)")
        if value not in out:
            out.append(value)
    if not out:
        raise VaeViewerError(f"--windows {text!r}: give one or more window sizes, e.g. 10 or 5,10,20")
    return out


def plan_rows(base: RunConfig, variants: list[str], windows: list[int]) -> list[PlannedRow]:
    """The rows to train: conv2d once, each window variant once per window size; validated settings.

    Window variants keep `base.stride` (capped at the window); the stateful row uses stride =
    window. `out` of each row is `base.out`/name when base.out is set.
    """
    rows: list[PlannedRow] = []
    for variant in variants:
        sizes = [base.window] if variant == "conv2d" else windows
        for t in sizes:
            if variant == "conv2d":
                name, changes = "conv2d", dict(variant="conv2d", stateful=False, stride=min(base.stride, base.window))
            else:
                stateful = variant == "convlstm-stateful"
                model = "convlstm" if stateful else variant
                stride = t if stateful else min(base.stride, t)
                name = f"{variant}-w{t}"
                changes = dict(variant=model, window=t, stride=stride, stateful=stateful)
            out = str(Path(base.out) / name) if base.out else None
            cfg = base.replace(**changes, out=out)
            try:
                cfg.validate()
            except VaeViewerError as exc:
                raise VaeViewerError(f"compare row {name}: {exc}") from None
            rows.append(PlannedRow(name, variant, cfg))
    return rows


def common_split(rows: list[PlannedRow], sequences: list) -> Optional[str]:
    """The one split every row uses: the configured one, or for "auto" the one that fits the largest window."""
    if not rows or rows[0].config.split != "auto":
        return None
    from vaeviewer.training.prepare import resolve_split

    widest = max(rows, key=lambda r: max(r.config.window, r.config.model_window)).config
    return resolve_split(widest, sequences)


def check_rows(rows: list[PlannedRow], sequences: list, fit_stateful_batch: bool = False) -> list[str]:
    """Refuse, before anything trains, a row whose settings do not fit the data (one line, naming the row).

    `fit_stateful_batch` (the batch size was not chosen by the user): a stateful row whose batch
    is larger than the data can hold (e.g. 64 streams of 20-frame clips) trains with the largest
    batch that fits instead; returns a note for each row so changed.
    """
    from vaeviewer.training import prepare

    notes: list[str] = []
    # Widest window first: a window longer than the data is the cause to name, not the split it
    # left for the narrower rows.
    for r in sorted(rows, key=lambda r: -max(r.config.window, r.config.model_window)):
        try:
            prepare.check_fits(r.config, sequences)
            continue
        except VaeViewerError as exc:
            text = f"compare row {r.name}: {exc}"
        largest = prepare.largest_stateful_batch(r.config, sequences) if r.config.stateful else 0
        if fit_stateful_batch and 0 < largest < r.config.batch_size:
            fitted = r.config.replace(batch_size=largest)
            try:
                prepare.check_fits(fitted, sequences)
            except VaeViewerError:
                pass
            else:
                notes.append(f"{r.name}: batch size {largest} instead of {r.config.batch_size}, the most "
                             f"these data hold for a stateful run (--batch-size sets every row's)")
                r.config = fitted
                continue
        if 0 < largest < r.config.batch_size and "batch size" not in text:
            text += f" (the largest stateful batch size these data fit is {largest}: --batch-size {largest})"
        raise VaeViewerError(text)
    return notes
