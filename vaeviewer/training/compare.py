"""`vaeviewer compare`: does seeing time help on this data? Train each variant the same way, one after another.

Every row trains one variant (conv2d, conv3d, convlstm, stateful convlstm; window variants once
per window size) on the same loaded sequences, with the same split, seed and budget (epochs, or
seconds of training), through the same `TrainingSession` that `vaeviewer train` uses. After each
row the results so far are written (compare.json, compare.csv, compare.png), so an interrupted
comparison keeps its finished rows.

Qt-free: compare.png is drawn with matplotlib when it is installed, else by
`vaeviewer.gui.compare_plot` (pyqtgraph's exporter, offscreen), imported only to draw.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev

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


def check_rows(rows: list[PlannedRow], sequences: list) -> None:
    """Refuse, before anything trains, a row whose settings do not fit the data (one line, naming the row)."""
    from vaeviewer.training import prepare

    for r in rows:
        try:
            prepare.check_fits(r.config, sequences)
        except VaeViewerError as exc:
            text = f"compare row {r.name}: {exc}"
            if r.config.stateful:
                largest = prepare.largest_stateful_batch(r.config, sequences)
                if 0 < largest < r.config.batch_size and "batch size" not in text:
                    text += f" (the largest stateful batch size these data fit is {largest}: --batch-size {largest})"
            raise VaeViewerError(text) from None


class _RowListener:
    """Collects what a row's table line and plot need; enforces the seconds budget."""

    def __init__(self, budget_seconds: Optional[float], forward: Optional[Callable[[Any], None]] = None):
        self.budget_seconds = budget_seconds
        self.forward = forward
        self.session = None
        self.valid_lengths: list[int] = []
        self.snapshot: Optional[ev.Snapshot] = None
        self.epochs_done = 0
        self.budget_hit = False
        self._deadline_passed = False
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self.valid_lengths = list(event.valid_lengths or event.train_lengths)
        elif isinstance(event, ev.Baselines) and self.budget_seconds is not None:
            # The clock starts with training: data, model and baselines are not the variant's training.
            self._timer = threading.Timer(self.budget_seconds, self._deadline)
            self._timer.daemon = True
            self._timer.start()
        elif isinstance(event, ev.EpochEnd):
            with self._lock:
                self.epochs_done += 1
                if self._deadline_passed:   # the budget ran out in the first epoch: stop after it
                    self.session.stop()
        elif isinstance(event, ev.Snapshot) and event.timeline_error is not None:
            self.snapshot = event
        if self.forward is not None:
            self.forward(event)

    def _deadline(self) -> None:
        with self._lock:
            self.budget_hit = True
            self._deadline_passed = True
            # Stop now if an epoch was validated; else after the first one, so the row has a val MSE.
            if self.epochs_done and self.session is not None:
                self.session.stop()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return None
    return a / b


def row_from_summary(planned: PlannedRow, summary: dict[str, Any], wall: float, budget_hit: bool) -> dict[str, Any]:
    """The compare.json row of a finished session's summary."""
    cfg = planned.config
    windowed = cfg.uses_windows
    val_mse = summary.get("val_mse")
    pca = summary.get("pca_mse")
    window_pca = summary.get("window_pca_mse") if windowed else None
    equal = window_pca if windowed else pca
    row = {
        "variant": planned.variant,
        "window": cfg.model_window,
        "stateful": cfg.stateful,
        "val_mse": val_mse,
        "pca_mse": pca,
        "window_pca_mse": window_pca,
        "mean_frame_mse": summary.get("mean_frame_mse"),
        "vs_pca": _ratio(val_mse, pca),              # val MSE / per-frame PCA's (< 1: beats it)
        "vs_equal_budget": _ratio(val_mse, equal),   # val MSE / the equal-budget PCA's
        "equal_budget_baseline": "window_pca" if windowed else "pca",
        "val_kl": summary.get("val_kl"),
        "samples_per_s": summary.get("samples_per_s"),
        "seconds": summary.get("seconds"),
        "wall_seconds": wall,
        "epochs": summary.get("epochs"),
        "steps": summary.get("steps"),
        "budget_limited": bool(budget_hit),
        "reason": summary.get("reason", "stopped"),
        "verdict": summary.get("verdict") or "unknown",
        "beats_equal_budget": (None if row_none(val_mse, equal) else bool(val_mse < equal)),
        "verdict_text": summary.get("verdict_text") or "no epoch finished: nothing to compare",
        "run_dir": summary.get("out"),
    }
    return row


def row_none(*values: Optional[float]) -> bool:
    return any(v is None or not math.isfinite(v) for v in values)


def _timeline(listener: _RowListener) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    snap = listener.snapshot
    if snap is None or snap.timeline_error is None:
        return None, None
    lengths = listener.valid_lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)])[:-1] if lengths else np.zeros(1)
    seq = np.asarray(snap.timeline_sequence, dtype=np.int64)
    seq = np.clip(seq, 0, len(offsets) - 1)
    position = offsets[seq] + np.asarray(snap.timeline_frame, dtype=np.int64)
    order = np.argsort(position, kind="stable")
    return position[order].astype(np.float64), np.asarray(snap.timeline_error, dtype=np.float64)[order]


def train_row(planned: PlannedRow, sequences: list, budget_seconds: Optional[float] = None,
              forward: Optional[Callable[[Any], None]] = None,
              on_session: Optional[Callable[[Any], None]] = None) -> RowResult:
    """Train one row on `sequences` (already loaded) and return its result.

    `on_session` receives the TrainingSession before it runs (a caller may stop it).
    """
    from vaeviewer.training.session import TrainingSession

    listener = _RowListener(budget_seconds, forward)
    session = TrainingSession(planned.config, listener, sequences=sequences)
    listener.session = session
    if on_session is not None:
        on_session(session)
    t0 = time.perf_counter()
    try:
        summary = session.run()
    finally:
        listener.cancel()
    wall = time.perf_counter() - t0
    row = row_from_summary(planned, summary, wall, listener.budget_hit)
    position, error = _timeline(listener)
    history = [h.get("val_mse") for h in session.history]
    result = RowResult(row, [v if v is not None else float("nan") for v in history], position, error)
    del session
    return result


def run_compare(rows: list[PlannedRow], sequences: list, out: Optional[str | Path] = None,
                budget_seconds: Optional[float] = None,
                on_row: Optional[Callable[[RowResult], None]] = None,
                on_start: Optional[Callable[[PlannedRow, int], None]] = None,
                on_session: Optional[Callable[[Any], None]] = None) -> list[RowResult]:
    """Train every row in turn; after each, write the outputs (when `out`) and call `on_row`.

    A KeyboardInterrupt propagates after the finished rows' files are written (they are written
    after every row), so the caller keeps them.
    """
    results: list[RowResult] = []
    for i, planned in enumerate(rows):
        if on_start is not None:
            on_start(planned, i)
        result = train_row(planned, sequences, budget_seconds, on_session=on_session)
        results.append(result)
        if out is not None:
            write_outputs(out, results)
        if on_row is not None:
            on_row(result)
        _release_graph()
    return results


def _release_graph() -> None:
    """Free the finished row's model and TensorFlow graph before the next row builds its own."""
    gc.collect()
    try:
        import keras

        keras.backend.clear_session()
    except Exception:  # noqa: BLE001  (only memory is at stake)
        pass


# ---- output -------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return _json_value(value.item())
    return value


def rows_json(results: list[RowResult]) -> list[dict[str, Any]]:
    return [{k: _json_value(r.row.get(k)) for k in ROW_KEYS} for r in results]


def write_outputs(out: str | Path, results: list[RowResult]) -> None:
    """compare.json, compare.csv and compare.png in `out`, for the rows finished so far (atomically)."""
    from vaeviewer.atomic import atomic_write_text

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = rows_json(results)
    atomic_write_text(folder / "compare.json", json.dumps(data, indent=2) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ROW_KEYS), lineterminator="\n")
    writer.writeheader()
    for row in data:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    atomic_write_text(folder / "compare.csv", buffer.getvalue())
    draw_png(folder / "compare.png", results)


def plot_series(results: list[RowResult]) -> dict[str, Any]:
    """What compare.png shows, backend-free: per-row curves and the baselines."""
    rows = []
    for r in results:
        label = row_label(r.row)
        rows.append({"label": label,
                     "epochs": list(range(1, len(r.val_mse_per_epoch) + 1)),
                     "val_mse": list(r.val_mse_per_epoch),
                     "frame_position": r.frame_position, "frame_error": r.frame_error})
    baselines: dict[str, float] = {}
    for r in results:
        row = r.row
        for key, name in (("mean_frame_mse", "mean frame"), ("pca_mse", "per-frame PCA")):
            if row.get(key) is not None and name not in baselines:
                baselines[name] = float(row[key])
        if row.get("window_pca_mse") is not None:
            baselines.setdefault(f"window PCA, T={row['window']}", float(row["window_pca_mse"]))
    return {"rows": rows, "baselines": baselines}


def row_label(row: dict[str, Any]) -> str:
    return row["variant"] if row["variant"] == "conv2d" else f"{row['variant']} T={row['window']}"


def draw_png(path: str | Path, results: list[RowResult]) -> bool:
    """Draw compare.png with matplotlib if installed, else with pyqtgraph offscreen. True if written."""
    series = plot_series(results)
    import importlib.util

    if importlib.util.find_spec("matplotlib") is not None:
        return _draw_matplotlib(path, series)
    try:
        from vaeviewer.gui.compare_plot import draw_compare_png
    except ImportError:   # no Qt either: the JSON and CSV still hold every number
        return False
    return draw_compare_png(path, series)


def _draw_matplotlib(path: str | Path, series: dict[str, Any]) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaeviewer.atomic import atomic_target

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8))
    for row in series["rows"]:
        top.plot(row["epochs"], row["val_mse"], marker="o", label=row["label"])
        if row["frame_position"] is not None:
            bottom.plot(row["frame_position"], row["frame_error"], linewidth=0.8, label=row["label"])
    for name, value in series["baselines"].items():
        top.axhline(value, linestyle="--", linewidth=1, color="grey")
        top.annotate(f"{name} {value:.4g}", (0, value), xycoords=("axes fraction", "data"), fontsize=8)
    top.set_xlabel("epoch")
    top.set_ylabel("validation MSE")
    top.legend(fontsize=8)
    bottom.set_xlabel("validation frame (parts in order)")
    bottom.set_ylabel("per-frame MSE")
    fig.tight_layout()
    with atomic_target(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return True


# ---- the table ----------------------------------------------------------------------------
TABLE_COLUMNS = (("variant", 18), ("window", 6), ("stateful", 8), ("val MSE", 9), ("vs PCA", 8),
                 ("vs eq-budget", 12), ("val KL", 7), ("samples/s", 9), ("seconds", 8), ("verdict", 0))


def table_header() -> str:
    return "  ".join(f"{name:<{width}}" if width else name for name, width in TABLE_COLUMNS).rstrip()


def _percent(ratio: Optional[float]) -> str:
    """0.9 -> '-10%': the val MSE relative to a baseline's (negative: lower, better)."""
    if ratio is None:
        return "-"
    return f"{100.0 * (ratio - 1.0):+.0f}%"


def verdict_cell(row: dict[str, Any]) -> str:
    """A row's verdict in a few words, as the table and the app's Runs panel word it."""
    from vaeviewer.training.verdict import COLLAPSED_KL, HEADLINES

    verdict = HEADLINES.get(row["verdict"], row["verdict"])
    kl = row.get("val_kl")
    if row["verdict"] == "mean_frame" and kl is not None and math.isfinite(kl) and kl < COLLAPSED_KL:
        verdict += " (latent collapsed)"
    if row.get("beats_equal_budget") is not None and row["window"] > 1:
        verdict += "; beats window PCA" if row["beats_equal_budget"] else "; not window PCA"
    if row.get("budget_limited"):
        verdict += " (budget-limited)"
    elif row.get("reason") not in (None, "completed"):
        verdict += f" ({row['reason']})"
    return verdict


def table_row(row: dict[str, Any]) -> str:
    """One line of the printed table."""
    def num(value: Optional[float], fmt: str) -> str:
        return "-" if value is None or not math.isfinite(value) else format(value, fmt)

    verdict = verdict_cell(row)
    cells = [row["variant"], str(row["window"]), "yes" if row["stateful"] else "no", num(row["val_mse"], ".5f"),
             _percent(row["vs_pca"]), _percent(row["vs_equal_budget"]), num(row["val_kl"], ".3g"),
             num(row["samples_per_s"], ".0f"), num(row["seconds"], ".1f"), verdict]
    return "  ".join(f"{c:<{w}}" if w else c for c, (_n, w) in zip(cells, TABLE_COLUMNS)).rstrip()
