"""Probe panel: decode any latent point of the model on show (issue 15, parts 3 and 4).

One slider per latent dimension (±3 prior standard deviations), ordered by the dimension's KL
(largest first), dimensions under `UNUSED_KL` nats marked unused. The point starts at the z mean
of the selected window; moving a slider decodes it at once. Decode-anywhere (a click in the
latent scatter), interpolation between two picked windows, a traversal grid exported as PNG and
exports of the windows box-selected in the scatter live here too.

The panel finds the model through `inspector_source()` (the main window passes the controller's
`session.inspector`, None before the model exists). One conv2d point decodes in a few ms, so it
is decoded on the GUI thread; window models, stateful models, everything during a run and every
encode go to one background job at a time (`LatestOnly`: a waiting request is replaced by a newer
one of its kind). Exports ask for their path through `ask_path`, which tests replace.
"""

from __future__ import annotations

import csv
import time
from typing import Any, Callable, Optional

import numpy as np
import pyqtgraph as pg
from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import (
    QDockWidget, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea,
    QSizePolicy, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from vaeviewer.atomic import atomic_target
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.docks import panel_dock
from vaeviewer.gui.workers import LatestOnly

UNUSED_KL = 0.01        # nats (mean KL of a dimension on validation); below it the dimension is unused
SLIDER_SD = 3.0         # the sliders span ±3 standard deviations of the N(0, 1) prior
SLIDER_TICKS = 100      # slider steps per standard deviation
MAX_EXPORT_WINDOWS = 256
STRIP_COLUMNS = 5       # frames per row of a decoded window in the panel
PICK_HINT = "shift-click two points in the scatter\n(or two frames in the error timeline)"
SELECT_HINT = "no windows selected: Ctrl+drag a box in the scatter"


# ---- images -----------------------------------------------------------------------------
def sample_frames(sample: np.ndarray) -> np.ndarray:
    """A decoded sample (H, W, 1) or (T, H, W, 1) as frames (n, H, W)."""
    frames = np.asarray(sample, np.float32)[..., 0]
    return frames[None] if frames.ndim == 2 else frames


def tile(frames: np.ndarray, columns: int, gap: int = 1, fill: float = 1.0) -> np.ndarray:
    """Frames (n, H, W) in rows of `columns`, `gap` pixels of `fill` between them."""
    n, h, w = frames.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), fill, np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = frames[i]
    return out


def stack(images: list[np.ndarray], axis: int, gap: int = 3, fill: float = 1.0) -> np.ndarray:
    """2-D images side by side (axis 1) or one under another (axis 0), padded to one size."""
    size = max(im.shape[1 - axis] for im in images)
    parts = []
    for i, im in enumerate(images):
        pad = [(0, 0), (0, 0)]
        pad[1 - axis] = (0, size - im.shape[1 - axis])
        parts.append(np.pad(im, pad, constant_values=fill))
        if i < len(images) - 1:
            parts.append(np.full((gap, size) if axis == 0 else (size, gap), fill, np.float32))
    return np.concatenate(parts, axis=axis)


def write_png(path: str, image: np.ndarray, text: str = "") -> None:
    """A grayscale image with values 0..1 as an 8-bit PNG (written atomically; any thread)."""
    data = np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))
    h, w = data.shape
    qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if text:
        qimage.setText("Description", text)
    try:
        with atomic_target(path, suffix=".png") as tmp:
            if not qimage.save(str(tmp), "PNG"):
                raise VaeViewerError(f"{path}: the PNG could not be written (check the folder and the file name)")
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write the PNG ({exc.strerror or exc})") from None


# ---- the panel --------------------------------------------------------------------------
class ProbePanel(QWidget):
    """Sliders over the latent dimensions, the decoded point, interpolation and exports."""

    decoded = pyqtSignal(object)        # the sample shown: (H, W, 1) or (T, H, W, 1)
    pointChanged = pyqtSignal(object)   # the latent point (K,) now decoded
    interpolated = pyqtSignal(object)   # (N, *sample_shape)
    exported = pyqtSignal(str)          # a file written
    message = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self, inspector_source: Callable[[], Any], busy: Callable[[], bool] = lambda: False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inspector_source = inspector_source
        self.busy = busy                   # True while a run trains: decode off the GUI thread
        self.ask_path: Callable[[str, str, str], Optional[str]] = self._ask_save_path
        self.worker = LatestOnly(self._on_error, self)
        self.inspector: Any = None
        self.z: Optional[np.ndarray] = None          # the point decoded (K,)
        self.base_z: Optional[np.ndarray] = None     # z mean of the selected window
        self.selected: Optional[tuple[str, int, int]] = None
        self.kl: Optional[np.ndarray] = None
        self.order: list[int] = []                   # dimensions, largest KL first
        self.sliders: list[QSlider] = []
        self._rows: list[tuple[QLabel, QSlider, QLabel]] = []
        self.last_decoded: Optional[np.ndarray] = None
        self.decode_ms: Optional[float] = None
        self.picks: list[tuple[str, int, int]] = []  # interpolation ends (at most 2)
        self.interpolation: Optional[np.ndarray] = None
        self.selection: tuple[str, np.ndarray, np.ndarray, int] = ("valid", np.zeros(0, np.int64),
                                                                   np.zeros(0, np.int64), 1)
        self.frame_names: Any = None                 # FrameNames, for the selection CSV
        self._build()
        self._show_state("no model yet: the panel fills once a run has built its model")

    # ---- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        self.origin = _line_label()
        self.from_selected = QPushButton("From selected window")
        self.from_selected.setToolTip("Set the sliders to the z mean of the window shown in the frame strips")
        self.from_selected.clicked.connect(lambda: self.load_selected(force=True))
        self.zero = QPushButton("Prior mean")
        self.zero.setToolTip("Set every slider to 0 (the prior's mean)")
        self.zero.clicked.connect(lambda: self.set_z(np.zeros_like(self.z), "the prior's mean (all 0)")
                                  if self.z is not None else None)
        self.decoded_view, self.decoded_image = _image_view()
        self.decoded_view.setToolTip("the decoder's output at the sliders' point")
        self.slider_box = QWidget()
        self.slider_grid = QGridLayout(self.slider_box)
        self.slider_grid.setContentsMargins(2, 2, 2, 2)
        self.slider_grid.setVerticalSpacing(1)
        self.slider_scroll = scroll = QScrollArea()
        scroll.setWidget(self.slider_box)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(60)

        self.steps = QSpinBox()
        self.steps.setRange(2, 64)
        self.steps.setValue(8)
        self.steps.setToolTip("decoded steps from A to B, both ends included")
        self.steps.valueChanged.connect(lambda _v: self.interpolate() if len(self.picks) == 2 else None)
        self.picks_label = _line_label(PICK_HINT)
        self.interp_view, self.interp_image = _image_view()
        self.interp_view.setToolTip("A (left/top) to B: the decoder at evenly spaced points between their z means")
        self.trav_steps = QSpinBox()
        self.trav_steps.setRange(2, 21)
        self.trav_steps.setValue(7)
        self.trav_steps.setMaximumWidth(70)
        self.trav_steps.setToolTip("columns of the traversal grid: values -3 … 3 of each dimension")
        self.trav_button = QPushButton("Traversal PNG…")
        self.trav_button.setToolTip("Rows: each dimension (largest KL first) swept over -3 … 3, the others at the "
                                    "sliders' values. Window models: each cell is the decoded window's frames.")
        self.trav_button.clicked.connect(lambda: self.export_traversal())
        self.sel_label = _line_label(SELECT_HINT)
        self.sel_csv = QPushButton("Indices CSV…")
        self.sel_png = QPushButton("Frames PNG…")
        self.sel_csv.clicked.connect(lambda: self.export_selection_csv())
        self.sel_png.clicked.connect(lambda: self.export_selection_png())

        top = QHBoxLayout()
        top.addWidget(self.from_selected)
        top.addWidget(self.zero)
        interp = QGroupBox("Interpolate")
        il = QVBoxLayout(interp)
        row = QHBoxLayout()
        row.addWidget(QLabel("steps"))
        row.addWidget(self.steps)
        row.addStretch(1)
        il.addWidget(self.picks_label)
        il.addLayout(row)
        il.addWidget(self.interp_view, 1)
        export = QGroupBox("Export")
        el = QGridLayout(export)
        el.addWidget(QLabel("traversal"), 0, 0)
        el.addWidget(self.trav_steps, 0, 1)
        el.addWidget(self.trav_button, 0, 2)
        el.addWidget(self.sel_label, 1, 0, 1, 3)
        el.addWidget(self.sel_csv, 2, 0, 1, 2)
        el.addWidget(self.sel_png, 2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.origin)
        layout.addLayout(top)
        self.decoded_view.setMinimumHeight(120)
        self.interp_view.setMinimumHeight(80)
        layout.addWidget(self.decoded_view, 3)
        layout.addWidget(scroll)
        layout.addWidget(interp, 2)
        layout.addWidget(export)
        self._enable_selection_exports()

    def _show_state(self, text: str) -> None:
        self.origin.setText(text)
        self.origin.setToolTip(text)
        enabled = self.inspector is not None
        for w in (self.from_selected, self.zero, self.trav_button, self.steps):
            w.setEnabled(enabled)

    # ---- the model --------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Look the inspector up again; a new one (a new run, a load) resets the panel."""
        insp = self.inspector_source()
        if insp is self.inspector and (insp is None or len(self.sliders) == insp.model.latent_dim):
            return
        self.inspector = insp
        self.worker.reset()
        self.z = self.base_z = self.interpolation = self.last_decoded = None
        self.picks = []
        if insp is None:
            self._make_sliders(0)
            self._show_state("no model yet: the panel fills once a run has built its model")
            return
        k = int(insp.model.latent_dim)
        self.z = np.zeros(k, np.float32)
        self._make_sliders(k)
        self.kl = None
        self.set_kl(getattr(insp, "last_kl_per_dim", None))
        self._show_state("the prior's mean (all 0) until the selected window's z mean is in")
        self.selected = self.selected or tuple(getattr(insp, "selected", ("valid", 0, 0)))
        self.load_selected(force=True)

    def set_kl(self, kl: Optional[np.ndarray]) -> None:
        """Order the sliders by each dimension's KL (largest first) and mark the unused ones."""
        k = len(self.sliders)
        if kl is None or len(kl) != k:
            if self.kl is not None:
                return
            order = list(range(k))
        else:
            self.kl = np.asarray(kl, np.float64)
            order = [int(i) for i in np.argsort(-self.kl, kind="stable")]
        if order != self.order and not any(s.isSliderDown() for s in self.sliders):
            self.order = order
            for label, slider, value in self._rows:
                for w in (label, slider, value):
                    self.slider_grid.removeWidget(w)
            for row, d in enumerate(order):
                for col, w in enumerate(self._rows[d]):
                    self.slider_grid.addWidget(w, row, col)
        for d, (label, slider, _value) in enumerate(self._rows):
            if self.kl is None:
                label.setText(f"z{d}")
                label.setToolTip("KL per dimension appears after the first validation pass")
                continue
            unused = self.kl[d] < UNUSED_KL
            label.setText(f"z{d} · KL {self.kl[d]:.2g}" + (" · unused" if unused else ""))
            label.setStyleSheet("color: #999; font-style: italic;" if unused else "")
            label.setToolTip(f"z{d}: mean KL {self.kl[d]:.4g} nats per window on the last validation pass"
                             + (f"; under {UNUSED_KL} nats, so the model does not use it (moving it changes "
                                "little)" if unused else ""))

    def unused_dims(self) -> list[int]:
        return [] if self.kl is None else [int(d) for d in np.flatnonzero(self.kl < UNUSED_KL)]

    def _make_sliders(self, k: int) -> None:
        for row in self._rows:
            for w in row:
                self.slider_grid.removeWidget(w)
                w.deleteLater()
        self._rows, self.sliders, self.order = [], [], list(range(k))
        for d in range(k):
            label = QLabel(f"z{d}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-int(SLIDER_SD * SLIDER_TICKS), int(SLIDER_SD * SLIDER_TICKS))
            slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            slider.setToolTip(f"z{d}: -3 … 3 prior standard deviations")
            value = QLabel("0.00")
            value.setMinimumWidth(38)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider.valueChanged.connect(lambda v, d=d: self._on_slider(d, v))
            self._rows.append((label, slider, value))
            self.sliders.append(slider)
            for col, w in enumerate((label, slider, value)):
                self.slider_grid.addWidget(w, d, col)
        # Up to 8 rows in view without scrolling; more scroll.
        self.slider_scroll.setFixedHeight(min(max(k, 2), 8) * 22 + 8)

    # ---- the point ----------------------------------------------------------------------
    def set_selected(self, split: str, sequence: int, start: int) -> None:
        """The selected window changed (the strips show it): start from its z mean."""
        key = (split, int(sequence), int(start))
        if key != self.selected:
            self.selected = key
            self.load_selected(force=True)

    def load_selected(self, force: bool = False) -> None:
        insp, key = self.inspector, self.selected
        if insp is None or key is None or not force:
            return
        self.worker.submit("base", lambda: insp.window_z(*key), lambda z: self._on_base(key, z))

    def _on_base(self, key: tuple[str, int, int], z: np.ndarray) -> None:
        if key != self.selected:
            return   # an answer for a window no longer selected
        self.base_z = np.asarray(z, np.float32)
        self.set_z(self.base_z, f"z mean of {self._describe(key)}")

    def base_point(self) -> np.ndarray:
        """The point decode-anywhere starts from: the selected window's z mean (else the sliders')."""
        return self.base_z if self.base_z is not None else self.z

    def set_z(self, z: np.ndarray, origin: str = "", background: bool = False) -> None:
        """Decode the point z (K,) and put the sliders there (values outside ±3 clip on the slider).

        `background`: decode on the worker even for conv2d (a drag in the scatter sends a point per
        mouse move; the newest wins there, and the GUI thread stays free for the drawing)."""
        if self.inspector is None or z is None:
            return
        self.z = np.asarray(z, np.float32).copy()
        for d, slider in enumerate(self.sliders):
            slider.blockSignals(True)
            slider.setValue(int(round(np.clip(self.z[d], -SLIDER_SD, SLIDER_SD) * SLIDER_TICKS)))
            slider.blockSignals(False)
            self._rows[d][2].setText(f"{self.z[d]:.2f}")
        if origin:
            self._show_state(f"decoding: {origin}")
        self.request_decode(background)

    def _on_slider(self, dim: int, value: int) -> None:
        if self.z is None:
            return
        self.z[dim] = value / SLIDER_TICKS
        self._show_state("decoding: the sliders' point")
        self._rows[dim][2].setText(f"{self.z[dim]:.2f}")
        self.request_decode()

    def request_decode(self, background: bool = False) -> None:
        insp, z = self.inspector, self.z.copy()
        self.pointChanged.emit(z)
        cfg = insp.config
        if not (background or cfg.uses_windows or cfg.stateful or self.busy()):
            t0 = time.perf_counter()   # a conv2d point: a few ms, on this thread
            self._show_decoded(insp.decode(z), t0)
            return
        t0 = time.perf_counter()
        self.worker.submit("decode", lambda: insp.decode(z), lambda out: self._show_decoded(out, t0))

    def _show_decoded(self, sample: np.ndarray, t0: float) -> None:
        self.last_decoded = sample
        frames = sample_frames(sample)
        _set_image(self.decoded_view, self.decoded_image, tile(frames, STRIP_COLUMNS))
        self.decode_ms = (time.perf_counter() - t0) * 1000
        self.decoded.emit(sample)

    # ---- interpolation --------------------------------------------------------------------
    def pick_window(self, split: str, sequence: int, start: int) -> None:
        """An interpolation end (shift-click): the first pick is A, the second B (then it runs)."""
        if self.inspector is None:
            return
        self.picks = [] if len(self.picks) != 1 else self.picks
        self.picks.append((split, int(sequence), int(start)))
        names = [f"{'AB'[i]}: {self._describe(p)}" for i, p in enumerate(self.picks)]
        self.picks_label.setText("\n".join(names + ([] if len(self.picks) == 2 else ["B: shift-click another"])))
        self.picks_label.setToolTip(self.picks_label.text())
        if len(self.picks) == 2:
            self.interpolate()

    def pick_frame(self, split: str, sequence: int, frame: int) -> None:
        """A timeline frame as an interpolation end: the model input holding it (as a click shows)."""
        if self.inspector is None:
            return
        cfg = self.inspector.config
        t = cfg.model_window
        start = frame if t == 1 else (frame - frame % t if cfg.stateful else max(0, frame - t // 2))
        self.pick_window(split, sequence, start)

    def interpolate(self) -> None:
        insp, (a, b), n = self.inspector, self.picks, self.steps.value()

        def job():
            z_a, z_b = insp.window_z(*a), insp.window_z(*b)
            return insp.interpolate(z_a, z_b, n)

        self.worker.submit("interpolate", job, self._show_interpolation)

    def _show_interpolation(self, frames: np.ndarray) -> None:
        self.interpolation = frames
        steps = [sample_frames(s) for s in frames]
        if steps[0].shape[0] == 1:   # one frame a step: rows of 4
            image = tile(np.concatenate(steps), 4)
        else:                         # a window a step: one row each
            image = stack([tile(s, len(s)) for s in steps], axis=0, gap=2)
        _set_image(self.interp_view, self.interp_image, image)
        self.interpolated.emit(frames)

    # ---- traversal grid ---------------------------------------------------------------
    def export_traversal(self, path: Optional[str] = None) -> None:
        """Each dimension (largest KL first) swept over -3 … 3 from the sliders' point, as a PNG."""
        insp = self.inspector
        path = path or self.ask_path("Export traversal grid", "PNG image (*.png)", ".png")
        if insp is None or not path:
            return
        z, order = self.z.copy(), list(self.order)
        values = np.linspace(-SLIDER_SD, SLIDER_SD, self.trav_steps.value())

        def job():
            rows = []
            for d in order:
                cells = [sample_frames(s) for s in insp.traverse(z, d, values)]
                rows.append(stack([tile(c, len(c)) for c in cells], axis=1))
            text = (f"rows: dimensions {', '.join(f'z{d}' for d in order)}; columns: values "
                    f"{', '.join(f'{v:.2g}' for v in values)}; other dimensions at {np.round(z, 3).tolist()}")
            write_png(path, stack(rows, axis=0), text)
            return path

        self.worker.submit("traversal", job, self._exported)

    def _exported(self, path: str) -> None:
        self.message.emit(f"saved {path}")
        self.exported.emit(path)

    # ---- selection ------------------------------------------------------------------------
    def set_selection(self, split: str, sequence: np.ndarray, first: np.ndarray, length: int) -> None:
        """The windows box-selected in the scatter: (sequence, first frame), `length` frames each."""
        order = np.lexsort((first, sequence))
        self.selection = (split, np.asarray(sequence, np.int64)[order], np.asarray(first, np.int64)[order],
                          max(1, int(length)))
        n = len(order)
        what = "frames" if length <= 1 else f"windows of {length} frames"
        self.sel_label.setText(f"{n:,} {split} {what} selected" if n else SELECT_HINT)
        self.sel_label.setToolTip(self.sel_label.text())
        self._enable_selection_exports()

    def _enable_selection_exports(self) -> None:
        has = len(self.selection[1]) > 0
        self.sel_csv.setEnabled(has)
        self.sel_png.setEnabled(has)

    def selection_rows(self) -> list[tuple[str, int, int, int]]:
        """(split, sequence, first_frame, last_frame) of each selected window, sorted."""
        split, seq, first, length = self.selection
        return [(split, int(s), int(f), int(f) + length - 1) for s, f in zip(seq, first)]

    def export_selection_csv(self, path: Optional[str] = None) -> int:
        """split, sequence, first_frame, last_frame (within the split's part, as the latents CSV), then
        the source and its frame numbers when known; returns the rows written."""
        rows = self.selection_rows()
        path = path or (self.ask_path("Export selected frame indices", "CSV (*.csv)", ".csv") if rows else None)
        if not rows or not path:
            return 0
        names = self.frame_names
        try:
            with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(["split", "sequence", "first_frame", "last_frame", "source", "first_frame_in_source",
                              "last_frame_in_source"])
                for split, s, a, b in rows:
                    source = names.source_name(split, s) if names is not None else ""
                    in_file = (lambda f: names.in_file(split, s, f)) if names is not None else (lambda f: f)
                    out.writerow([split, s, a, b, source, in_file(a), in_file(b)])
        except OSError as exc:
            self.failed.emit(f"{path}: cannot write ({exc.strerror or exc})")
            return 0
        self._exported(path)
        return len(rows)

    def export_selection_png(self, path: Optional[str] = None) -> int:
        """The selected windows' input frames: one row per window (conv2d: frames in rows of 16);
        at most MAX_EXPORT_WINDOWS windows, the first in (sequence, frame) order."""
        insp, rows = self.inspector, self.selection_rows()
        if insp is None or not rows:
            self.failed.emit("nothing to export: select windows in the latent scatter of a model first")
            return 0
        path = path or self.ask_path("Export selected frames", "PNG image (*.png)", ".png")
        if not path:
            return 0
        from vaeviewer.data.windows import frames_to_float

        shown = rows[:MAX_EXPORT_WINDOWS]
        cut = [frames_to_float(insp.split_list(split)[s].frames[a:b + 1]) for split, s, a, b in shown]
        if shown[0][3] == shown[0][2]:
            image = tile(np.concatenate(cut), 16)
        else:
            image = stack([tile(c, len(c)) for c in cut], axis=0, gap=2)
        text = "; ".join(f"{split} {s} {a}-{b}" for split, s, a, b in shown)
        try:
            write_png(path, image, "rows (split sequence first-last): " + text)
        except VaeViewerError as exc:
            self.failed.emit(str(exc))
            return 0
        if len(rows) > len(shown):
            self.message.emit(f"{len(shown)} of {len(rows)} selected windows written to {path} (the first ones)")
        self._exported(path)
        return len(shown)

    # ---- helpers ------------------------------------------------------------------------
    def _describe(self, key: tuple[str, int, int]) -> str:
        split, seq, start = key
        if self.frame_names is not None:
            t = self.inspector.config.model_window if self.inspector is not None else 1
            return self.frame_names.describe(split, seq, start, t, total=False)
        return f"{split} · sequence {seq} frame {start}"

    def _on_error(self, exc: Exception) -> None:
        self.failed.emit(str(exc) if isinstance(exc, VaeViewerError) else f"probe failed: {exc!r}")

    def _ask_save_path(self, title: str, filt: str, suffix: str) -> Optional[str]:
        path, _ = QFileDialog.getSaveFileName(self, title, "", filt)
        if path and suffix and not path.endswith(suffix):
            path += suffix
        return path or None


def _line_label(text: str = "") -> QLabel:
    """A label that never widens the panel: long lines are cut, the tooltip holds them."""
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setToolTip(text)
    return label


def _image_view() -> tuple[pg.GraphicsLayoutWidget, pg.ImageItem]:
    view = pg.GraphicsLayoutWidget()
    view.ci.setContentsMargins(0, 0, 0, 0)
    box = view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
    image = pg.ImageItem(levels=(0.0, 1.0))
    box.addItem(image)
    view.setMinimumHeight(60)
    # Heights come from the panel's stretch factors, not from QGraphicsView's large size hint.
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    view.box = box
    return view, image


def _set_image(view: pg.GraphicsLayoutWidget, item: pg.ImageItem, image: np.ndarray) -> None:
    """Show a 0..1 image with fixed levels; refit the view when its shape changes."""
    reshaped = item.image is None or item.image.shape != image.shape
    item.setImage(np.ascontiguousarray(image, np.float32), levels=(0.0, 1.0), autoLevels=False)
    if reshaped:
        view.box.autoRange(padding=0.01)


# ---- in the main window -------------------------------------------------------------------
def add_probe_dock(window: QMainWindow) -> tuple[ProbePanel, QDockWidget]:
    """Put a Probe panel in a dock right of the views and wire it to the window's widgets.

    The panel reads `window.controller.session.inspector`; it follows the window the strips show
    (each snapshot), the scatter's clicks, shift-clicks and box selection, and the timeline's
    shift-clicks. The box selection is also shaded in the error timeline.
    """
    from vaeviewer.gui.frame_names import FrameNames

    c, scatter, timeline = window.controller, window.scatter, window.timeline
    panel = ProbePanel(lambda: getattr(c.session, "inspector", None), busy=lambda: c.running)
    dock = panel_dock("Probe", "probe", panel)
    dock.setMinimumWidth(260)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resizeDocks([dock], [280], Qt.Orientation.Horizontal)   # the width left goes to the views

    def on_snapshot(snap: Any) -> None:
        panel.refresh()
        if snap.kl_per_dim is not None:
            panel.set_kl(snap.kl_per_dim)
        panel.set_selected(snap.split, snap.sequence, snap.start)
        # A validation pass (new weights): the selected window's z mean moved; follow it unless the
        # user has moved away from it (sliders, a click in the scatter, an interpolation end).
        if snap.latents is not None and panel.origin.text().startswith("decoding: z mean of"):
            panel.load_selected(force=True)

    def on_started(started: Any) -> None:
        panel.frame_names = FrameNames.from_started(started)
        panel.refresh()

    def on_selection() -> None:
        seq, first = scatter.selected_windows()
        panel.set_selection(scatter.split, seq, first, scatter.window)
        n = timeline.highlight_windows(seq, first, scatter.window)
        if len(seq):
            window.status.showMessage(f"{len(seq):,} points selected: {n:,} frames shaded in the error timeline", 5000)

    c.snapshot.connect(on_snapshot)
    c.runStarted.connect(on_started)
    # The weights are final (or new): the selected window's z mean again.
    for signal in (c.checkpointLoaded, c.runFinished):
        signal.connect(lambda _x: (panel.refresh(), panel.load_selected(force=True)))
    scatter.planeClicked.connect(lambda x, y: panel.set_z(scatter.latent_at(x, y, panel.base_point()),
                                                          f"the scatter at ({x:.2f}, {y:.2f})", background=True)
                                 if panel.z is not None else None)
    scatter.windowPicked.connect(panel.pick_window)
    scatter.selectionChanged.connect(on_selection)
    timeline.framePicked.connect(panel.pick_frame)
    panel.pointChanged.connect(scatter.show_probe)
    panel.message.connect(lambda text: window.status.showMessage(text, 5000))
    panel.failed.connect(window.show_error)
    for menu_action in window.menuBar().actions():
        if menu_action.text() == "&View" and menu_action.menu() is not None:
            menu_action.menu().addAction(dock.toggleViewAction())
    return panel, dock
