"""What `vaeviewer compare` writes and prints: compare.json, compare.csv, compare.png and the table."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from vaeviewer.training.compare_rows import ROW_KEYS, RowResult


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
    """What compare.png shows, backend-free: per-row curves, the baselines, where validation parts begin."""
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
    part_starts = next((r.part_starts for r in results if r.part_starts is not None), None)
    return {"rows": rows, "baselines": baselines, "part_starts": part_starts}


def row_label(row: dict[str, Any]) -> str:
    return row["variant"] if row["variant"] == "conv2d" else f"{row['variant']} T={row['window']}"


def draw_png(path: str | Path, results: list[RowResult]) -> bool:
    """Draw compare.png (with Pillow, see compare_png). True if written."""
    from vaeviewer.training.compare_png import draw_compare_png

    return draw_compare_png(path, plot_series(results))


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
