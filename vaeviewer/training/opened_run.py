"""A finished run, opened read-only for scripts: `open_run(dir)` gives a `Run`.

Nothing here writes into the run directory. The model is the run's `best.keras` (the weights
with the lowest validation loss); the data is the run's own (the paths in its config.json) or
any other frames of the model's frame size, given the intensity stretch the model was trained
under (data.json).

Frames given to the API: an array (N, H, W) or (N, H, W, 1), uint8 (0..255) or float in 0..1,
is one sequence. conv2d works frame by frame; a window model takes the non-overlapping windows
of T frames from the first frame (a stateful one carries its state from window to window, as in
training), and the frames after the last whole window are scored by the window that ends at the
last frame (from a reset state for a stateful model). An array already shaped as a batch of the
model's inputs, (B, T, H, W, 1) or (B, H, W, 1), is taken as B independent inputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from vaeviewer.config import RunConfig, adopt_model_spec
from vaeviewer.errors import VaeViewerError
from vaeviewer.training.prepare import PreparedData
from vaeviewer.training.run_facts import source_lengths
from vaeviewer.training.rundir import RunDirectory


def open_run(path: str | os.PathLike) -> "Run":
    """Open the run directory `path` (written by `vaeviewer train --out` or `compare`) read-only."""
    return Run(path)


class Run:
    """A trained model with its settings and history; encode, decode, reconstruct, score frames."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        store = RunDirectory(self.path)
        if not self.path.is_dir():
            raise VaeViewerError(f"{self.path}: no such run directory")
        self.config: RunConfig = store.read_config()
        self.history: list[dict[str, Any]] = store.read_history()
        info = self._info = store.read_data_info()
        stretch = info.get("intensity")
        self.intensity: Optional[tuple[float, float]] = tuple(float(v) for v in stretch) if stretch else None
        self._intensity_known = "intensity" in info
        if not store.best_model.is_file():
            raise VaeViewerError(f"{self.path}: no best.keras (the run saved no checkpoint; did its first epoch end?)")
        from vaeviewer.quiet import import_tensorflow

        import_tensorflow()
        from vaeviewer.models.io import load_model

        self.model = load_model(store.best_model)
        spec = self.model.spec or {}
        if spec.get("variant") and spec.get("variant") != self.config.variant:
            raise VaeViewerError(f"{self.path}: best.keras is a {spec.get('variant')} model but config.json says "
                                 f"{self.config.variant}; the run directory is inconsistent")
        self.config = adopt_model_spec(self.config, spec)
        self._inspector: Optional[Any] = None

    # ---- what the model takes -----------------------------------------------------------
    @property
    def frame_shape(self) -> tuple[int, int]:
        shape = tuple(self.model.sample_shape)
        return (int(shape[-3]), int(shape[-2]))

    @property
    def window(self) -> int:
        return self.config.model_window

    def prepare_frames(self, frames: np.ndarray) -> np.ndarray:
        """`frames` as float32 (N, H, W) in the model's 0..1 scale (the run's intensity stretch applied).

        Raises VaeViewerError for a frame size other than the model's, or values that are not
        8-bit (uint8) or 0..1 floats.
        """
        x = np.asarray(frames)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise VaeViewerError(f"frames of shape {np.shape(frames)}: expected (N, H, W) or (N, H, W, 1)")
        if tuple(x.shape[1:]) != self.frame_shape:
            h, w = self.frame_shape
            raise VaeViewerError(f"frames of {x.shape[1]}x{x.shape[2]} do not fit this model, which takes {h}x{w} "
                                 f"frames; resize them (vaeviewer export/gui load files with --frame-size {h}x{w})")
        return self._scaled(x)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        """uint8 to 0..1, then the run's intensity stretch; refuses what is neither uint8 nor 0..1."""
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255.0
        elif np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
            if x.size and not np.isfinite(x).all():
                raise VaeViewerError("frames hold NaN or infinite values")
            if x.size and (x.min() < -1e-3 or x.max() > 1.0 + 1e-3):
                raise VaeViewerError(f"float frames must be in 0..1 (these span {x.min():.4g}..{x.max():.4g}); "
                                     "divide by 255 for 8-bit data, by 65535 for 16-bit")
        else:
            raise VaeViewerError(f"frames of dtype {x.dtype}: give uint8 (0..255) or floats in 0..1 "
                                 "(for 16-bit data divide by 65535, as vaeviewer reads 16-bit files)")
        if self.intensity:
            lo, hi = self.intensity
            x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        return x

    def _is_batch(self, frames: np.ndarray) -> bool:
        shape = tuple(self.model.sample_shape)
        return np.ndim(frames) == len(shape) + 1 and tuple(np.shape(frames)[1:]) == shape

    def _sequence_inspector(self, frames: np.ndarray):
        from vaeviewer.data import windows as win
        from vaeviewer.data.sources import Sequence
        from vaeviewer.training.inspector import Inspector

        seq = Sequence("frames", self.prepare_frames(frames), 0, 0)
        t = self.window
        if len(seq) < t:
            raise VaeViewerError(f"{len(seq)} frames are fewer than the model's window of {t}")
        data = PreparedData(train=[seq], valid=[], frame_shape=self.frame_shape, n_sources=1, split="none",
                            train_index=win.make_windows([seq], t, t))
        return Inspector(self.model, data, self.config)

    # ---- the API ------------------------------------------------------------------------
    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_mean, z_log_var), float32 (N, K): per frame (conv2d), per window (window models).

        A stateful model walks the windows in order, carrying its state.
        """
        if self._is_batch(frames):
            return self._inspector_any().encode(self._scaled(np.asarray(frames)))
        inspector = self._sequence_inspector(frames)
        from vaeviewer.models import inference

        model = inspector.viewer_model()
        x = inspector.data.train[0].frames
        t = self.window
        if not self.config.uses_windows:
            return inspector.encode(x[..., None])
        n = len(x) // t
        windows = x[:n * t].reshape(n, t, *x.shape[1:], 1)
        if not self.config.stateful:
            return inspector.encode(windows)
        inference.reset_states(model)
        parts = [inference.forward(model, w[None])[:2] for w in windows]
        inference.reset_states(model)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Frames (conv2d: (B, H, W)) or windows ((B, T, H, W)) decoded from latent points (B, K)."""
        out = self._inspector_any().decode(np.asarray(z, np.float32))
        return out[..., 0]

    def reconstruct(self, frames: np.ndarray) -> np.ndarray:
        """The reconstruction of every frame, float32 (N, H, W) (see the module docstring)."""
        if self._is_batch(frames):
            from vaeviewer.models import inference

            return inference.reconstruct(self.model, self._scaled(np.asarray(frames)))
        inspector = self._sequence_inspector(frames)
        out = np.empty_like(inspector.data.train[0].frames)
        from vaeviewer.training.reconstruction import reconstruction_chunks

        for _, start, recon in reconstruction_chunks(inspector, inspector.data.train):
            out[start:start + len(recon)] = recon
        return out

    def frame_errors(self, frames: np.ndarray) -> np.ndarray:
        """MSE of every frame, float32 (N,). Window models: a frame's error is the mean over the
        windows that hold it, windows T/4 apart (as the app's error timeline), stateful models the
        error in their carried-state walk."""
        inspector = self._sequence_inspector(frames)
        result = inspector.walk("train", cover_all=True)
        _, frame, err = result.frame_errors()
        out = np.full(len(inspector.data.train[0]), np.nan, np.float32)
        out[frame] = err
        return out

    # ---- the run's own data -------------------------------------------------------------
    def inspector(self, sequences: Optional[list] = None, progress: Optional[Callable[[int, int], None]] = None,
                  baselines: bool = True):
        """An Inspector over the run's own data (split as in training), or over `sequences`.

        `sequences` (loaded with `data.load_sequences`) are taken whole, none for validation.
        `baselines`: compute the mean-frame and PCA baselines on the validation part (for a verdict).
        """
        from vaeviewer.training.inspector import Inspector

        if sequences is None:
            data = self.own_data(progress)
        else:
            data = self.other_data(sequences)
        inspector = Inspector(self.model, data, self.config, precision=str(self.model.dtype_policy.name))
        if data.valid and baselines:
            inspector.compute_baselines()
        return inspector

    def check_same_data(self, data: PreparedData) -> None:
        """Refuse data that is not the run's own: other frame counts per sequence than data.json says."""
        stored = self._info.get("sequence_lengths")
        if not stored:
            return   # a run directory written before data.json held the lengths
        found = source_lengths(data)
        if list(found) != list(stored):
            raise VaeViewerError(f"this is not the run's data: its sequences have {found} frames, the run trained on "
                                 f"{stored}; to apply the model to other data use File > Apply run to data… "
                                 "(or vaeviewer export DIR DATA)")

    def missing_data(self) -> list[str]:
        """The run's data paths that are not on disk (moved or deleted); [] for the demo data."""
        if self.config.demo:
            return []
        return [p for p in self.config.paths if not os.path.exists(p)]

    def own_data(self, progress: Optional[Callable[[int, int], None]] = None) -> PreparedData:
        from vaeviewer.training.prepare import load_run_sequences, prepare_data

        missing = self.missing_data()
        if missing:
            raise VaeViewerError(f"{self.path}: the run's data is not where it was: {', '.join(missing)}; move it "
                                 "back, open the run in the app (it asks where the data is now), or apply the run "
                                 "to data as other data: vaeviewer export DIR DATA (no validation part then)")
        cfg = self.config
        sequences = load_run_sequences(cfg, progress=progress)
        self._check_size(sequences)
        return prepare_data(cfg, sequences)

    def other_data(self, sequences: list) -> PreparedData:
        """`sequences` whole (no validation part), with the run's intensity stretch."""
        import dataclasses

        from vaeviewer.data import windows as win

        self._check_size(sequences)
        t = self.window
        short = [s.name for s in sequences if len(s) < max(t, self.config.window)]
        if short:
            raise VaeViewerError(f"{', '.join(short)}: fewer frames than the window of {max(t, self.config.window)}")
        seqs = [dataclasses.replace(s, frames=self.prepare_frames(s.frames), source_index=i, offset=0)
                for i, s in enumerate(sequences)]
        return PreparedData(train=seqs, valid=[], frame_shape=self.frame_shape, n_sources=len(seqs), split="none",
                            train_index=win.make_windows(seqs, t, t), intensity=self.intensity)

    def _check_size(self, sequences: list) -> None:
        for s in sequences:
            if tuple(s.frame_shape) != self.frame_shape:
                h, w = self.frame_shape
                raise VaeViewerError(f"{s.name}: frames of {s.frame_shape[0]}x{s.frame_shape[1]}, but the model takes "
                                     f"{h}x{w}; load it with --frame-size {h}x{w}")

    def _inspector_any(self):
        """An Inspector for calls that need no data (decode, encode of a batch)."""
        if self._inspector is None:
            from vaeviewer.training.inspector import Inspector

            h, w = self.frame_shape
            empty = PreparedData(train=[], valid=[], frame_shape=(h, w))
            self._inspector = Inspector(self.model, empty, self.config)
        return self._inspector
