"""Data panel: demo data or files/folders, loaded in a pool thread, with a one-glance summary.

The loaded sequences are handed to the training session, so data is read once per choice of
data, not once per run. The display contrast (0.5th..99.5th percentile of the loaded frames,
what the frame strips use with auto contrast on) is measured once per load and named in the
summary, so a dim 16-bit clip says how it is shown. A load that takes more than half a second
shows a progress bar (frames of the file being read) and a Cancel button; a cancelled load
keeps the data loaded before.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any, Optional

import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QThreadPool, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget
from superqt.utils import create_worker

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.frame_strips import contrast_limits, contrast_text
from vaeviewer.gui.workers import start_worker

FILE_FILTER = ("Sequences (*.npy *.npz *.tif *.tiff *.gif *.png *.jpg *.jpeg *.bmp *.mp4 *.avi *.mov *.mkv *.webm);;"
               "All files (*)")


def data_key(config: RunConfig) -> tuple:
    """What identifies the loaded data: runs whose config has the same key reuse it."""
    return (tuple(config.paths), bool(config.demo), config.frame_size,
            getattr(config, "demo_sequences", None), getattr(config, "demo_frames", None), config.seed)


class LoadCancelled(Exception):
    """Raised inside a load whose LoadState was cancelled."""


class LoadState:
    """Shared by the panel and the loading thread: progress comes in, a cancel request goes out.

    Called as ``progress(done_frames, total_frames)`` by ``load_sequences`` (about ten times a
    second while a video, image folder or GIF loads); raises LoadCancelled once cancel() was called.
    """

    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self.started = time.monotonic()
        self._cancel = threading.Event()

    def __call__(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise LoadCancelled()
        self.done, self.total = int(done), int(total)

    def cancel(self) -> None:
        self._cancel.set()


def load_for_config(config: RunConfig, progress: Optional[LoadState] = None) -> list:
    """The sequences a config names (demo or files); raises VaeViewerError for bad data.

    `progress` (files only) receives the loader's progress and can cancel it (LoadCancelled).
    """
    from vaeviewer.training.prepare import load_run_sequences

    # The session's own loader, so the app and a run read the same data the same way.
    return load_run_sequences(config.replace(demo=not config.paths), progress=progress)


def _source_text(config: RunConfig) -> str:
    return "demo data (moving shapes)" if not config.paths else "\n".join(config.paths)


def summarize(sequences: list) -> str:
    """A few lines about the loaded data (via vaeviewer.data.inspect.describe when present)."""
    try:
        from vaeviewer.data.inspect import describe

        info: dict[str, Any] = describe(sequences)
    except ImportError:
        frames = [s.frames for s in sequences]
        lo = min(float(np.min(f)) for f in frames)
        hi = max(float(np.max(f)) for f in frames)
        info = {"sequences": len(frames), "frames": sum(len(f) for f in frames),
                "frame_shape": tuple(frames[0].shape[1:3]), "dtype": str(frames[0].dtype), "value_range": (lo, hi)}
    lengths = [len(s) for s in sequences]
    shape = info.get("frame_shape")
    vr = info.get("value_range")
    lines = [
        f"{info.get('sequences', len(sequences))} sequence(s), {info.get('frames', sum(lengths))} frames",
        f"frames {shape[0]}×{shape[1]} {info.get('dtype', '')}" if shape else "",
        f"values {vr[0]:.3g} … {vr[1]:.3g}" if vr else "",
        "lengths " + ", ".join(str(n) for n in lengths[:8]) + (" …" if len(lengths) > 8 else ""),
    ]
    # What the files held and what loading did to them (16-bit kept as float32, colour to gray).
    notes = list(dict.fromkeys(getattr(s, "source", "") for s in sequences if getattr(s, "source", "")))
    if len(notes) == 1:
        lines.append(notes[0])
    elif notes:
        lines.extend(f"{s.name}: {s.source}" for s in sequences[:8] if s.source)
    return "\n".join(line for line in lines if line)


class DataPanel(QWidget):
    """Choose the data; `dataChosen(paths, demo)` when the user picks, `loaded()` when ready."""

    dataChosen = pyqtSignal(list, bool)
    loaded = pyqtSignal()
    failed = pyqtSignal(str)   # also when the user cancels a load: the data loaded before is kept

    SHOW_PROGRESS_AFTER_S = 0.5   # shorter loads show no bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QLabel("demo data")
        self.source.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #444;")
        self.demo_button = QPushButton("Demo")
        self.files_button = QPushButton("Files…")
        self.folder_button = QPushButton("Folder…")
        self.demo_button.setToolTip("built-in demo data: moving shapes")
        self.files_button.setToolTip("one or more files: .npy/.npz, TIFF/GIF stacks, images, video")
        self.folder_button.setToolTip("a folder of images (one frame per file, natural order)")
        row = QHBoxLayout()
        for b in (self.demo_button, self.files_button, self.folder_button):
            row.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop loading; the data loaded before is kept")
        self.progress_row = QWidget()
        progress_layout = QHBoxLayout(self.progress_row)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_layout.addWidget(self.progress, 1)
        progress_layout.addWidget(self.cancel_button)
        self.progress_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.source)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress_row)
        layout.addLayout(row)

        self.sequences: Optional[list] = None
        self.key: Optional[tuple] = None
        self.loaded_config: Optional[RunConfig] = None   # the config whose data `sequences` holds
        # (lo, hi, min, max) display range of the loaded frames: FrameStrips.set_data_contrast.
        self.contrast: Optional[tuple[float, float, float, float]] = None
        self._summary_text = ""
        self._worker = None
        self._loading_key: Optional[tuple] = None
        self._load_state: Optional[LoadState] = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._show_progress)
        self.cancel_button.clicked.connect(self.cancel)
        self.demo_button.clicked.connect(lambda: self.dataChosen.emit([], True))
        self.files_button.clicked.connect(self._pick_files)
        self.folder_button.clicked.connect(self._pick_folder)

    def sequences_for(self, config: RunConfig) -> Optional[list]:
        """The loaded sequences if they are what `config` names, else None (session loads)."""
        return self.sequences if self.key == data_key(config) else None

    @property
    def loading(self) -> bool:
        return self._worker is not None

    def load(self, config: RunConfig) -> None:
        """Load (in a pool thread) the data `config` names, unless it is loaded already."""
        key = data_key(config)
        if key == self._loading_key:
            return
        if key == self.key:
            if self._loading_key is not None:
                # Back to the data already loaded while another load runs: stop that load, drop
                # its result if it comes, and show the loaded data again.
                self._loading_key = None
                self._end_progress()
                self._show_loaded()
            return
        self._end_progress()   # a load still running for other data is stopped
        self.source.setText(_source_text(config))
        self.summary.setText("loading…")
        self._loading_key = key
        state = self._load_state = LoadState()
        self._poll.start()
        worker = create_worker(load_for_config, config, state, _start_thread=False, _ignore_errors=True)
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._worker = worker
        # Files load on Qt's shared pool, not on the model's inspection worker.
        start_worker(worker, lambda seqs, k=key, c=config: self._on_loaded(k, seqs, c),
                     lambda exc, k=key: self._on_error(k, exc), pool=QThreadPool.globalInstance())

    def _on_loaded(self, key: tuple, sequences: list, config: Optional[RunConfig] = None) -> None:
        # The panel may have been closed (deleted) while the pool thread loaded: drop the result.
        if sip.isdeleted(self) or sip.isdeleted(self.summary):
            return
        if key != self._loading_key:
            return
        self._end_progress()
        self.sequences, self.key = sequences, key
        self.loaded_config = config
        try:
            self._summary_text = summarize(sequences)
        except Exception as exc:  # a summary must never break loading
            self._summary_text = f"{len(sequences)} sequence(s) ({exc})"
        try:
            self.contrast = contrast_limits([s.frames for s in sequences])
            self._summary_text += "\n" + contrast_text(*self.contrast[:2])
        except Exception:  # noqa: BLE001 - the strips then measure their first window instead
            self.contrast = None
        self._show_loaded()
        self.loaded.emit()

    def _show_loaded(self) -> None:
        """Name the loaded data and show its summary (blank before anything has loaded)."""
        if self.loaded_config is not None:
            self.source.setText(_source_text(self.loaded_config))
        note = getattr(self, "_run_note", "")
        self.summary.setText(self._summary_text + (f"\n{note}" if note else ""))

    def set_run_note(self, text: str) -> None:
        """A line about what the current run does to the data (e.g. the intensity stretch)."""
        self._run_note = text
        self._show_loaded()

    def _on_error(self, key: tuple, exc: Exception) -> None:
        if sip.isdeleted(self) or sip.isdeleted(self.summary):
            return
        if key != self._loading_key:
            return
        self._loading_key = None
        self._end_progress()
        text = str(exc) if isinstance(exc, VaeViewerError) else f"could not load the data: {exc!r}"
        # The previous data stays loaded: name it again; the summary says what failed.
        if self.loaded_config is not None:
            self.source.setText(_source_text(self.loaded_config))
        kept = "<br>(the previous data is kept)" if self.sequences is not None else ""
        self.summary.setText(f"<span style='color:#b00'>{html.escape(text, quote=False)}</span>{kept}")
        self.failed.emit(text)

    def cancel(self) -> None:
        """Stop the load in progress; the data loaded before stays loaded, and the panel says so.

        A video, image folder or GIF stops within about a tenth of a second; an array file is read
        to its end in the pool thread, and its result is dropped.
        """
        if self._loading_key is None:
            return
        self._loading_key = None
        self._end_progress()
        if self.sequences is not None:
            kept = _source_text(self.loaded_config or RunConfig())
            text = f"loading cancelled; the data loaded before is kept: {kept}"
        else:
            text = "loading cancelled; no data is loaded"
        self._show_loaded()   # names the loaded data again
        lines = [f"<span style='color:#a60'>{html.escape(text, quote=False)}</span>"]
        if self.sequences is not None:
            lines.append(html.escape(self._summary_text, quote=False).replace("\n", "<br>"))
        self.summary.setText("<br>".join(lines))
        self.failed.emit(text)

    def _show_progress(self) -> None:
        """Poll the loading thread's progress (every 100 ms) into the bar, after the first half second."""
        state = self._load_state
        if state is None or sip.isdeleted(self.progress):
            return
        if time.monotonic() - state.started < self.SHOW_PROGRESS_AFTER_S:
            return
        if state.total > 0:
            self.progress.setRange(0, state.total)
            self.progress.setValue(min(state.done, state.total))
            self.progress.setFormat(f"{state.done} / {state.total} frames")
        else:   # the file does not say how many frames it holds (or arrays, which do not report)
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{state.done} frames" if state.done else "loading…")
        self.progress_row.show()

    def _end_progress(self) -> None:
        """Stop (cancel) the load being shown, if any, and hide its bar."""
        if self._load_state is not None:
            self._load_state.cancel()   # no effect on a load that has finished
            self._load_state = None
        self._poll.stop()
        self.progress_row.hide()

    def _on_finished(self, worker) -> None:
        if self._worker is worker:
            self._worker = None
            self._loading_key = None

    def _pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open sequences", "", FILE_FILTER)
        if paths:
            self.dataChosen.emit(list(paths), False)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.dataChosen.emit([path], False)
