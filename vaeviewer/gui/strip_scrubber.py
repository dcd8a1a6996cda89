"""The frame strips' scrubber: which split, sequence and window the strips ask for.

A slider, arrow keys (one frame), Page Up/Down (one window) and play move over the whole
sequence; each move asks for that window through `windowRequested(split, sequence, start)`,
throttled. In stateful mode the model walks whole windows from the sequence's start, so the
position moves by whole windows (arrow keys too). The slider and the keys own the position: a
snapshot that answers an older request is dropped (`answers_request`), never moves them back.
The slider counts frames as the file numbers them (frame_names).
"""

from __future__ import annotations

from typing import Optional

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QPushButton, QSpinBox
from superqt import QLabeledSlider
from superqt.utils import qthrottled

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.training import events as ev

SLIDER_TIP = "first frame of the window, as the file numbers it: ←/→ one frame, Page Up/Down one window"
STATEFUL_SLIDER_TIP = ("first frame of the window, as the file numbers it: ←/→ and Page Up/Down one window "
                       "(stateful: the model carries its state window by window, so only whole windows show)")


class StripScrubber(QObject):
    """Owns the position controls (split, sequence, ◀ play ▶, slider); the strips lay them out."""

    windowRequested = pyqtSignal(str, int, int)   # split, sequence, start frame

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.split = QComboBox()
        self.split.addItems(["train", "valid"])
        self.split.setToolTip("which data the strips show")
        self.sequence = QSpinBox()
        self.sequence.setPrefix("sequence ")
        self.sequence.setRange(0, 0)
        self.prev_button = QPushButton("◀")
        self.play_button = QPushButton("▶ play")
        self.play_button.setCheckable(True)
        self.next_button = QPushButton("▶")
        self.prev_button.setToolTip("previous window (Page Up)")
        self.next_button.setToolTip("next window (Page Down)")
        self.play_button.setToolTip("step window by window through the sequence")
        for b in (self.prev_button, self.next_button):
            b.setFixedWidth(32)
        self.slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(SLIDER_TIP)

        self.lengths: dict[str, list[int]] = {"train": [], "valid": []}
        self.window = 1
        self.stateful = False
        self.frame_names = FrameNames()
        # The position the controls ask for (split, sequence, start); None: show what comes.
        self.requested: Optional[tuple[str, int, int]] = None
        self._range_offset = 0     # the slider counts file frames: the part's frame 0 is at this value
        self._quiet = False
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(300)
        self._play_timer.timeout.connect(self._play_step)
        self._request = qthrottled(self._emit_request, timeout=120)

        self.slider.valueChanged.connect(self._on_position)
        self.sequence.valueChanged.connect(self._on_part_changed)
        self.split.currentTextChanged.connect(self._on_part_changed)
        self.prev_button.clicked.connect(lambda: self.step(-self.window))
        self.next_button.clicked.connect(lambda: self.step(self.window))
        self.play_button.toggled.connect(self._on_play)

    # ---- setup ------------------------------------------------------------------------
    def set_lengths(self, train: list[int], valid: list[int], window: int, stateful: bool = False) -> None:
        """Frames per sequence of each split (from RunStarted), the window length T, stateful mode."""
        self.lengths = {"train": list(train), "valid": list(valid)}
        self.window = max(1, int(window))
        self.stateful = bool(stateful)
        self.requested = None      # a new run: show its first window, wherever it is
        self.slider.setPageStep(self.window)
        self.slider.setSingleStep(self.key_step)
        self.slider.setToolTip(STATEFUL_SLIDER_TIP if self.stateful else SLIDER_TIP)
        self._quiet = True
        try:
            has_valid = bool(valid)
            self.split.model().item(1).setEnabled(has_valid)
            if not has_valid and self.split.currentText() == "valid":
                self.split.setCurrentText("train")
            self._update_ranges()
        finally:
            self._quiet = False

    def set_frame_names(self, names: FrameNames) -> None:
        """Where the split parts sit in their files (from RunStarted): the slider names file frames."""
        self.frame_names = names
        quiet, self._quiet = self._quiet, True
        try:
            self._update_ranges()
        finally:
            self._quiet = quiet

    # ---- where it is ------------------------------------------------------------------
    def position(self) -> int:
        """The window's first frame within its split part (the slider shows it as in the file)."""
        return self.slider.value() - self._range_offset

    def sequence_length(self) -> int:
        """Frames in the sequence the controls show."""
        lengths = self.lengths.get(self.split.currentText(), [])
        seq = self.sequence.value()
        return lengths[seq] if seq < len(lengths) else 0

    def answers_request(self, snap: ev.Snapshot) -> bool:
        """True unless the snapshot shows another window than the controls ask for now.

        The session clamps a start to the sequence and, stateful, to a whole window; a request
        is compared as the session would show it.
        """
        if self.requested is None:
            return True
        split, sequence, start = self.requested
        return (snap.split, int(snap.sequence), int(snap.start)) == (split, sequence, self._shown_start(start))

    def _shown_start(self, start: int) -> int:
        start = max(0, min(int(start), max(0, self.sequence_length() - self.window)))
        return start - start % self.window if self.stateful else start

    # ---- moving -----------------------------------------------------------------------
    @property
    def key_step(self) -> int:
        """Frames per arrow key: one, or one window in stateful mode (only whole windows show)."""
        return self.window if self.stateful else 1

    def step(self, frames: int) -> None:
        self.slider.setValue(max(self.slider.minimum(), min(self.slider.maximum(), self.slider.value() + frames)))

    def scrub_key(self, key) -> bool:
        """Act on a scrubbing key (←/→, Page Up/Down, Space = play); False if it is not one."""
        steps = {Qt.Key.Key_Left: -self.key_step, Qt.Key.Key_Right: self.key_step,
                 Qt.Key.Key_PageUp: -self.window, Qt.Key.Key_PageDown: self.window}
        if key in steps:
            self.step(steps[key])
            return True
        if key == Qt.Key.Key_Space:
            self.play_button.toggle()
            return True
        return False

    def move_to(self, split: str, sequence: int, start: int) -> None:
        """Move the controls to a window without asking for it (it is being shown)."""
        self._quiet = True
        try:
            if split in self.lengths:
                self.split.setCurrentText(split)
            self._update_ranges()
            self.sequence.setValue(int(sequence))
            self._update_ranges()
            self.slider.setValue(self._range_offset + max(0, int(start)))    # clamped to the part
        finally:
            self._quiet = False

    def select(self, split: str, sequence: int, start: int) -> None:
        """Move the controls to a window and request it at once (what a click elsewhere calls)."""
        self.move_to(split, sequence, start)
        self._remember_request()
        self.windowRequested.emit(split, int(sequence), self.position())

    def _update_ranges(self) -> None:
        lengths = self.lengths.get(self.split.currentText(), [])
        self.sequence.setRange(0, max(0, len(lengths) - 1))
        split, seq = self.split.currentText(), self.sequence.value()
        self.sequence.setToolTip(f"which {split} sequence: this one is from "
                                 f"{self.frame_names.source_name(split, seq)}")
        # The slider shows the file's frame numbers: the part's frames sit at offset.. in it.
        position = self.position()
        offset = int(self.frame_names.in_file(split, seq, 0))
        quiet, self._quiet = self._quiet, True
        try:
            self._range_offset = offset
            self.slider.setRange(offset, offset + max(0, self.sequence_length() - self.window))
            self.slider.setValue(offset + position)
        finally:
            self._quiet = quiet

    def _on_position(self, value: int) -> None:
        within = value - self._range_offset
        if self.stateful and within % self.window:
            self.slider.setValue(value - within % self.window)    # whole windows only; comes back here
            return
        if not self._quiet:
            self._remember_request()
            self._request()

    def _on_part_changed(self, _value) -> None:
        """Another split or sequence was chosen."""
        if not self._quiet:
            self._update_ranges()
            self._remember_request()
            self._request()

    def _remember_request(self) -> None:
        # At once, not when the (throttled) request goes out: a snapshot arriving in between
        # is already for an older position.
        self.requested = (self.split.currentText(), self.sequence.value(), self.position())

    def _emit_request(self) -> None:
        self.windowRequested.emit(self.split.currentText(), self.sequence.value(), self.position())

    def _on_play(self, on: bool) -> None:
        self.play_button.setText("❚❚ pause" if on else "▶ play")
        if on:
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _play_step(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)
            return
        self.step(self.window)
