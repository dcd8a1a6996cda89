"""Probe panel: decode any latent point of the model on show (issue 15, parts 3 and 4).

One slider per latent dimension (±3 prior standard deviations), ordered by the dimension's KL
(largest first), dimensions under `UNUSED_KL` nats marked unused. The point starts at the z mean
of the selected window; moving a slider decodes it at once. Decode-anywhere (a click in the
latent scatter), interpolation between two picked windows and a traversal grid exported as PNG
(gui/probe_interpolation.py), and exports of the windows selected in the scatter (CSV, PNG, video:
gui/selection_exports.py) live here too. `add_probe_dock` (gui/probe_dock.py) wires it into the window.

The panel finds the model through `inspector_source()` (the main window passes the controller's
`session.inspector`, None before the model exists). One conv2d point decodes in a few ms, so it
is decoded on the GUI thread; window models, stateful models, everything during a run and every
encode go to one background job at a time (`LatestOnly`: a waiting request is replaced by a newer
one of its kind). Exports ask for their path through `ask_path`, which tests replace.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QSlider,
    QVBoxLayout, QWidget,
)

from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.frame_images import image_view, line_label, sample_frames, set_image, tile
from vaeviewer.gui.probe_interpolation import SLIDER_SD, InterpolationMixin
from vaeviewer.gui.selection_exports import (
    MAX_STRIP_FRAMES, MAX_VIDEO_FRAMES, describe_result, selection_note, windows_that_fit, write_selection_csv,
    write_selection_strip, write_selection_video,
)
from vaeviewer.gui.workers import LatestOnly

UNUSED_KL = 0.01        # nats (mean KL of a dimension on validation); below it the dimension is unused
SLIDER_TICKS = 100      # slider steps per standard deviation
STRIP_COLUMNS = 5       # frames per row of a decoded window in the panel
SELECT_HINT = "no windows selected: Ctrl+drag a box (Ctrl+Shift: a lasso) in the scatter"


# ---- the panel --------------------------------------------------------------------------
class ProbePanel(InterpolationMixin, QWidget):
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
        self.origin = line_label()
        self.from_selected = QPushButton("From selected window")
        self.from_selected.setToolTip("Set the sliders to the z mean of the window shown in the frame strips")
        self.from_selected.clicked.connect(lambda: self.load_selected(force=True))
        self.zero = QPushButton("Prior mean")
        self.zero.setToolTip("Set every slider to 0 (the prior's mean)")
        self.zero.clicked.connect(lambda: self.set_z(np.zeros_like(self.z), "the prior's mean (all 0)")
                                  if self.z is not None else None)
        self.decoded_view, self.decoded_image = image_view()
        self.decoded_view.setToolTip("the decoder's output at the sliders' point")
        self.slider_box = QWidget()
        self.slider_grid = QGridLayout(self.slider_box)
        self.slider_grid.setContentsMargins(2, 2, 2, 2)
        self.slider_grid.setVerticalSpacing(1)
        self.slider_scroll = scroll = QScrollArea()
        scroll.setWidget(self.slider_box)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(60)

        self.sel_label = line_label(SELECT_HINT)
        self.sel_csv = QPushButton("Indices CSV…")
        self.sel_png = QPushButton("Frames PNG…")
        self.sel_video = QPushButton("Video…")
        self.sel_csv.setToolTip("the selected windows' split, sequence and first/last frame (also as the file "
                                "numbers them)")
        self.sel_png.setToolTip(f"the selected windows' frames, input over reconstruction (at most "
                                f"{MAX_STRIP_FRAMES} frames; the PNG says how many were left out)")
        self.sel_video.setToolTip(f"input | reconstruction | error of the selected frames, mp4 or gif (at most "
                                  f"{MAX_VIDEO_FRAMES} frames), as vaeviewer export --video writes them")
        self.sel_csv.clicked.connect(lambda: self.export_selection_csv())
        self.sel_png.clicked.connect(lambda: self.export_selection_png())
        self.sel_video.clicked.connect(lambda: self.export_selection_video())

        top = QHBoxLayout()
        top.addWidget(self.from_selected)
        top.addWidget(self.zero)
        interp = self._build_interpolation()
        export = QGroupBox("Export")
        el = QGridLayout(export)
        el.addWidget(QLabel("traversal"), 0, 0)
        el.addWidget(self.trav_steps, 0, 1)
        el.addWidget(self.trav_button, 0, 2)
        el.addWidget(self.sel_label, 1, 0, 1, 3)
        selection_row = QHBoxLayout()
        for button in (self.sel_csv, self.sel_png, self.sel_video):
            selection_row.addWidget(button)
        el.addLayout(selection_row, 2, 0, 1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.origin)
        layout.addLayout(top)
        self.decoded_view.setMinimumHeight(120)
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
        set_image(self.decoded_view, self.decoded_image, tile(frames, STRIP_COLUMNS))
        self.decode_ms = (time.perf_counter() - t0) * 1000
        self.decoded.emit(sample)

    def _exported(self, path: str) -> None:
        self.message.emit(f"saved {path}")
        self.exported.emit(path)

    # ---- selection ------------------------------------------------------------------------
    def set_selection(self, split: str, sequence: np.ndarray, first: np.ndarray, length: int) -> None:
        """The windows selected in the scatter (box or lasso): (sequence, first frame), `length` frames each."""
        order = np.lexsort((first, sequence))
        self.selection = (split, np.asarray(sequence, np.int64)[order], np.asarray(first, np.int64)[order],
                          max(1, int(length)))
        self.sel_label.setText(selection_note(len(order), split, length, SELECT_HINT))
        self.sel_label.setToolTip(self.sel_label.text())
        self._enable_selection_exports()

    def _enable_selection_exports(self) -> None:
        has = len(self.selection[1]) > 0
        for button in (self.sel_csv, self.sel_png, self.sel_video):
            button.setEnabled(has)

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
        try:
            write_selection_csv(path, rows, self.frame_names)
        except VaeViewerError as exc:
            self.failed.emit(str(exc))
            return 0
        self._exported(path)
        return len(rows)

    def export_selection_png(self, path: Optional[str] = None) -> int:
        """The selected windows' inputs over their reconstructions as a PNG, written on the worker
        (`exported` when done); returns the windows it will hold (at most MAX_STRIP_FRAMES frames)."""
        return self._export_selection(path, "Export selected frames", "PNG image (*.png)", ".png",
                                      write_selection_strip, MAX_STRIP_FRAMES)

    def export_selection_video(self, path: Optional[str] = None) -> int:
        """input | reconstruction | error of the selected frames as an mp4 (or a gif, by the file
        name), written on the worker with `vaeviewer export --video`'s writer; returns the windows."""
        return self._export_selection(path, "Export selected frames as video", "MP4 video (*.mp4);;GIF (*.gif)",
                                      ".mp4", write_selection_video, MAX_VIDEO_FRAMES)

    def _export_selection(self, path, title, filt, suffix, write, max_frames) -> int:
        insp, rows = self.inspector, self.selection_rows()
        if insp is None or not rows:
            self.failed.emit("nothing to export: select windows in the latent scatter of a model first")
            return 0
        path = path or self.ask_path(title, filt, suffix)
        if not path:
            return 0
        what = "frames" if rows[0][2] == rows[0][3] else "windows"
        self.message.emit(f"writing {path}…")
        self.worker.submit(f"export {path}", lambda: write(path, insp, rows),
                           lambda done: (self.message.emit(describe_result(path, done, what)),
                                         self.exported.emit(path)))
        return len(windows_that_fit(rows, max_frames))

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


