"""This app session's finished runs, as the Runs panel lists them: settings, best val MSE, colour.

A run is named by its compare row label (variant, window, stateful) and by the other settings
whose values differ between the session's runs; settings that change neither the model nor its
data are never named. No Qt here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.training.compare_png import ROW_COLOURS
from vaeviewer.training import compare

# One colour per run; orange is left out, it is the live run's validation curve.
RUN_COLOURS = [c for i, c in enumerate(ROW_COLOURS) if i != 1]
# Settings that change neither the model nor its data: never named as a difference.
NOT_COMPARED = ("out", "tensorboard", "snapshot_interval_s", "first_look_s", "max_scatter_points")
# Named by the row's label (compare.row_label): variant, window, stateful.
IN_LABEL = ("variant", "window", "stateful")


@dataclass
class SessionRun:
    """One finished run of this session: its settings, its compare row and curve, its colour."""

    number: int
    config: RunConfig
    result: compare.RowResult
    colour: tuple[int, int, int]
    settings: str = ""          # its label with the settings that differ from the other runs
    opened: Optional[str] = None   # a finished run opened from its directory (File > Open run), not trained here

    @property
    def row(self) -> dict[str, Any]:
        return self.result.row

    @property
    def best_val_mse(self) -> Optional[float]:
        values = np.asarray(self.result.val_mse_per_epoch, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            return float(values.min())
        value = self.row.get("val_mse")
        return float(value) if value is not None and math.isfinite(value) else None


def session_run(number: int, config: RunConfig, summary: dict[str, Any],
                val_mse_per_epoch: list[float]) -> SessionRun:
    """Run `number` (from 1) of the session from its RunFinished summary and validation MSE per epoch."""
    planned = compare.PlannedRow(f"run {number}", row_variant(config), config)
    row = compare.row_from_summary(planned, summary, float(summary.get("seconds") or 0.0), False)
    return SessionRun(number, config, compare.RowResult(row, list(val_mse_per_epoch)),
                      RUN_COLOURS[(number - 1) % len(RUN_COLOURS)], opened=summary.get("opened"))


def row_variant(config: RunConfig) -> str:
    """The variant as `vaeviewer compare` names it (convlstm-stateful for a stateful convlstm)."""
    return "convlstm-stateful" if config.stateful else config.variant


def compared_settings(config: RunConfig) -> dict[str, Any]:
    """The settings that can tell runs apart, besides those in the row's label."""
    d = {k: v for k, v in config.to_dict().items() if k not in NOT_COMPARED and k not in IN_LABEL}
    if not config.uses_windows or config.stateful:
        d.pop("stride")   # conv2d has none; stateful always steps by whole windows
    return d


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ("x" if name == "frame_size" else ",").join(str(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_labels(configs: list[RunConfig], rows: list[dict[str, Any]]) -> list[str]:
    """Each run's label (compare.row_label) and the other settings whose values differ between the runs."""
    compared = [compared_settings(c) for c in configs]
    names: list[str] = []
    for d in compared:
        names.extend(k for k in d if k not in names)
    differing = [k for k in names if len({repr(d[k]) for d in compared if k in d}) > 1]
    labels = []
    for d, row in zip(compared, rows):
        extra = [f"{k} {_value_text(k, d[k])}" for k in differing if k in d]
        labels.append(", ".join([compare.row_label(row), *extra]))
    return labels


def config_tip(run: SessionRun) -> str:
    """The run's main settings and its directory, for a tooltip."""
    c = run.config
    window = f", window {c.window}, stride {c.stride}" if c.uses_windows else ""
    where = f"\n{run.row['run_dir']}" if run.row.get("run_dir") else ""
    return (f"{row_variant(c)}{window}, latent {c.latent_dim}, beta {c.beta:g}, batch {c.batch_size}, "
            f"epochs {run.row.get('epochs')}, seed {c.seed}{where}")
