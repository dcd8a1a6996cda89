"""Exports from the window: strips as PNG (pyqtgraph exporter), latents and loss history as CSV.

Every export is written atomically (vaeviewer.atomic): a crash or a full disk mid-write leaves
the previous file, or none, never half a file. An export with nothing to write (no latents, no
finished epoch) is refused with a VaeViewerError before any file is touched, the same way for
both CSVs: a header-only file looks like a successful export of an empty run.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers ImageExporter

from vaeviewer.atomic import atomic_target
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.frame_names import FrameNames

HISTORY_COLUMNS = ("epoch", "loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl", "val_mse")


@contextlib.contextmanager
def _open(path: str | Path) -> Iterator[Any]:
    """A text file for csv writing, renamed onto `path` only once it is complete."""
    try:
        with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            yield fh
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write ({exc.strerror or exc})") from None


def export_png(item: Any, path: str | Path, width: int | None = None) -> None:
    """Render a pyqtgraph item or scene to a PNG; `width` in pixels (default: on-screen size)."""
    exporter = pg.exporters.ImageExporter(item)
    if width:
        exporter.parameters()["width"] = int(width)
    failed = VaeViewerError(f"{path}: the PNG could not be written (check the folder and the file name)")
    try:
        # The temporary name ends in .png, so Qt picks the PNG format from it.
        with atomic_target(path, suffix=".png") as tmp:
            exporter.export(str(tmp))
            if tmp.stat().st_size == 0:   # QImage.save reports failure only by returning False
                raise failed
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write the PNG ({exc.strerror or exc})") from None


LATENT_COLUMNS = ("split", "sequence", "frame_in_split", "source", "frame_in_source")


def write_latents_csv(path: str | Path, split: str, sequence: np.ndarray, frame: np.ndarray,
                      latents: np.ndarray, names: Optional[FrameNames] = None) -> int:
    """One row per latent point; returns the number of rows.

    Columns: split, sequence (index of the part within the split), frame_in_split (the window's
    first frame within that part), source (the file or loaded sequence) and frame_in_source
    (the same frame as its file numbers it, from 0), then z0..zK-1. Without `names` the source
    columns repeat what is known: the part's index and the frame within the part.
    """
    latents = np.asarray(latents) if latents is not None else np.zeros((0, 0))
    if latents.ndim != 2 or len(latents) == 0:
        raise VaeViewerError("no latents yet: they appear after the first epoch")
    names = names or FrameNames()
    sequence = np.asarray(sequence, dtype=np.int64)
    frame = np.asarray(frame, dtype=np.int64)
    in_file = names.in_file(split, sequence, frame)
    with _open(path) as fh:
        writer = csv.writer(fh)
        writer.writerow([*LATENT_COLUMNS, *[f"z{i}" for i in range(latents.shape[1])]])
        for s, f, g, z in zip(sequence.tolist(), frame.tolist(), in_file.tolist(), latents):
            source = names.source_name(split, s) if names.known(split, s) else f"{split} sequence {s}"
            writer.writerow([split, s, f, source, g, *[f"{v:.6g}" for v in z]])
    return len(latents)


def write_history_csv(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Per-epoch loss history (session.history rows), the known columns first."""
    rows = list(rows or [])
    if not rows:
        raise VaeViewerError("no loss history yet: it appears after the first epoch")
    extra = sorted({k for r in rows for k in r} - set(HISTORY_COLUMNS))
    columns = [*HISTORY_COLUMNS, *extra]
    with _open(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in columns})
    return len(rows)
