"""The run directory: config.json, history.jsonl, last.keras, best.keras — all written atomically."""

from __future__ import annotations

import os

import json
import math
from pathlib import Path
from typing import Any

from vaeviewer.atomic import atomic_write_text
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training.report import epochs_text

CONFIG = "config.json"
HISTORY = "history.jsonl"
LAST = "last.keras"
BEST = "best.keras"
DATA_INFO = "data.json"   # what the data preparation decided that the model depends on (intensity stretch)


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null so the history stays valid JSON lines."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# What a resumed run may change: how long and how fast it trains, and what it writes besides.
# Everything else is in the stored model or decides the data it saw (batch_size too when the
# model is stateful: its batch size is fixed in its Input).
RESUMABLE_SETTINGS = ("epochs", "steps_per_epoch", "min_steps_per_epoch", "batch_size", "learning_rate",
                      "kl_warmup_epochs", "tensorboard", "restore_best", "snapshot_interval_s", "first_look_s",
                      "max_scatter_points", "out")


def fixed_on_resume(stored: RunConfig, wanted: RunConfig) -> list[str]:
    """The settings in which `wanted` differs from `stored` but which a resumed run cannot change."""
    changeable = set(RESUMABLE_SETTINGS)
    if stored.stateful:
        changeable.discard("batch_size")
    a, b = stored.to_dict(), wanted.to_dict()
    a["paths"] = [os.path.abspath(p) for p in a.get("paths", [])]
    b["paths"] = [os.path.abspath(p) for p in b.get("paths", [])]
    return [name for name in a if name not in changeable and a[name] != b[name]]


def renumber_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History rows with "epoch" counted from 1, as vaeviewer writes them now.

    Run directories written before counted from 0 (their first row says epoch 0): those rows are
    shifted by one, so a resumed run continues one numbering.
    """
    if rows and isinstance(rows[0], dict) and rows[0].get("epoch") == 0:
        return [{**r, "epoch": r["epoch"] + 1} if isinstance(r, dict) and isinstance(r.get("epoch"), int)
                and not isinstance(r.get("epoch"), bool) else r for r in rows]
    return rows


class RunDirectory:
    """One training run on disk. Every write replaces a whole file atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def prepare(self) -> None:
        """Create the folder; refuse a path that exists as a file or cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VaeViewerError(f"{self.path}: cannot create the run directory ({exc.strerror})") from None
        if not self.path.is_dir():
            raise VaeViewerError(f"{self.path}: exists and is not a directory; choose another --out")

    def holds_run(self) -> bool:
        """True when the folder already holds a run (its config.json)."""
        return (self.path / CONFIG).is_file()

    def write_config(self, config: RunConfig) -> None:
        """Store the run's settings with absolute data paths and run directory.

        A run resumed, or its config.json reused with --config, from another folder must still
        find its data and name its own directory (not a path relative to wherever it started).
        """
        stored = config.replace(paths=[os.path.abspath(p) for p in config.paths],
                                out=os.path.abspath(config.out) if config.out else config.out)
        atomic_write_text(self.path / CONFIG, stored.to_json())

    def read_config(self) -> RunConfig:
        file = self.path / CONFIG
        if not file.is_file():
            raise VaeViewerError(f"{self.path}: not a vaeviewer run directory (no {CONFIG}); nothing to resume")
        try:
            return RunConfig.load(file).validate()
        except VaeViewerError as exc:
            if str(file) in str(exc):
                raise
            raise VaeViewerError(f"{file}: {exc}") from None

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        """One JSON line per epoch; "epoch" counts from 1."""
        text = "".join(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n" for row in rows)
        atomic_write_text(self.path / HISTORY, text)

    def read_history(self) -> list[dict[str, Any]]:
        file = self.path / HISTORY
        if not file.exists():
            return []
        rows = []
        for n, line in enumerate(file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise VaeViewerError(f"{file}: line {n} is not valid JSON; the history is damaged") from None
        return renumber_history(rows)

    def resumed_config(self, stored: RunConfig, wanted: RunConfig, epochs_done: int) -> RunConfig:
        """The settings of a resumed run: `wanted`, checked against the stored run's.

        `wanted.epochs` is the new total. Raises VaeViewerError naming what cannot change on
        resume, or saying that nothing is left to train.
        """
        fixed = fixed_on_resume(stored, wanted)
        if fixed:
            a, b = stored.to_dict(), wanted.to_dict()
            what = "; ".join(f"{name} {b[name]!r} (the run has {a[name]!r})" for name in fixed)
            raise VaeViewerError(f"{self.path}: cannot change on resume: {what}; start a new run with --out for other "
                                 "settings")
        if wanted.epochs <= epochs_done:
            done = epochs_text(epochs_done)
            raise VaeViewerError(f"{self.path} already has {done}; pass --epochs N, a new total above {epochs_done}, "
                                 "to train more")
        return wanted

    def write_data_info(self, info: dict[str, Any]) -> None:
        atomic_write_text(self.path / DATA_INFO, json.dumps(info, indent=1) + "\n")

    def read_data_info(self) -> dict[str, Any]:
        """data.json as a dict; {} for a run directory written before it existed."""
        file = self.path / DATA_INFO
        if not file.is_file():
            return {}
        try:
            info = json.loads(file.read_text())
        except (json.JSONDecodeError, OSError):
            raise VaeViewerError(f"{file}: not valid JSON; the run directory is damaged") from None
        return info if isinstance(info, dict) else {}

    @property
    def last_model(self) -> Path:
        return self.path / LAST

    @property
    def best_model(self) -> Path:
        return self.path / BEST

    def save_epoch(self, model, history: list[dict[str, Any]], improved: bool) -> None:
        """After an epoch: last.keras, best.keras when `improved`, and the history (each atomic)."""
        from vaeviewer.models.io import save_model

        try:
            save_model(model, self.last_model)
            if improved:
                save_model(model, self.best_model)
            self.write_history(history)
        except OSError as exc:
            raise VaeViewerError(
                f"{self.path}: cannot write the checkpoint ({exc.strerror or exc}); "
                "the previous checkpoint is still intact. Free some space or choose another --out."
            ) from None

    def write_tensorboard(self, row: dict[str, Any]) -> None:
        """Scalars of one epoch as TensorBoard events under DIR/tensorboard."""
        import tensorflow as tf

        if getattr(self, "_tb_writer", None) is None:
            self._tb_writer = tf.summary.create_file_writer(str(self.path / "tensorboard"))
        with self._tb_writer.as_default():
            for key, value in row.items():
                if key not in ("epoch", "global_step") and isinstance(value, float) and math.isfinite(value):
                    tf.summary.scalar(key, value, step=row["epoch"])
        self._tb_writer.flush()
