"""The Probe panel's interpolation between two picked windows and its traversal grid export.

`InterpolationMixin` gives ProbePanel the widgets (steps, picks, the interpolation image, the
traversal controls) and the work: shift-clicked windows (or timeline frames) are the ends A and B,
the decoder runs at evenly spaced points between their z means; the traversal grid sweeps each
dimension (largest KL first) over ±3 prior SDs from the sliders' point and is written as a PNG.
Both run on the panel's background worker (`self.worker`, newest wins).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PyQt6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from vaeviewer.gui.frame_images import image_view, line_label, sample_frames, set_image, stack, tile, write_png

SLIDER_SD = 3.0         # the sliders span ±3 standard deviations of the N(0, 1) prior
PICK_HINT = "shift-click two points in the scatter\n(or two frames in the error timeline)"


class InterpolationMixin:
    """Interpolation and traversal for ProbePanel (which provides inspector, z, order, worker,
    ask_path, _describe, _exported and the `interpolated` signal)."""

    def _build_interpolation(self) -> QGroupBox:
        """Make the interpolation and traversal widgets; returns the Interpolate group."""
        self.steps = QSpinBox()
        self.steps.setRange(2, 64)
        self.steps.setValue(8)
        self.steps.setToolTip("decoded steps from A to B, both ends included")
        self.steps.valueChanged.connect(lambda _v: self.interpolate() if len(self.picks) == 2 else None)
        self.picks_label = line_label(PICK_HINT)
        self.interp_view, self.interp_image = image_view()
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
        interp = QGroupBox("Interpolate")
        il = QVBoxLayout(interp)
        row = QHBoxLayout()
        row.addWidget(QLabel("steps"))
        row.addWidget(self.steps)
        row.addStretch(1)
        il.addWidget(self.picks_label)
        il.addLayout(row)
        il.addWidget(self.interp_view, 1)
        self.interp_view.setMinimumHeight(80)
        return interp

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
        set_image(self.interp_view, self.interp_image, image)
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
