"""A finished run, opened read-only: `open_run(dir)` for scripts, `RunViewer` for the app.

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
from typing import Any, Callable, Iterator, Optional

import numpy as np

from vaeviewer.config import RunConfig, adopt_model_spec
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.prepare import PreparedData
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
        found = [max((s.offset + len(s) for s in data.train + data.valid if s.source_index == i), default=0)
                 for i in range(data.n_sources)]
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


def reconstruction_chunks(inspector, sequences: list, chunk: int = 64) -> Iterator[tuple[int, int, np.ndarray]]:
    """(sequence index, first frame, reconstructed frames (n, H, W)) along each sequence, every frame once.

    conv2d: frame by frame. Window models: the non-overlapping windows from frame 0, then the
    window ending at the last frame for the frames after the last whole one; a stateful model
    carries its state through the windows (the last, partial window from a reset state).
    """
    from vaeviewer.data.windows import frames_to_float
    from vaeviewer.models import inference

    cfg = inspector.config
    model = inspector.viewer_model()
    t = cfg.model_window
    for i, seq in enumerate(sequences):
        frames = seq.frames
        n = len(frames)
        if not cfg.uses_windows:
            for a in range(0, n, chunk):
                x = frames_to_float(frames[a:a + chunk])[..., None]
                yield i, a, inference.forward(model, x)[2][..., 0]
            continue
        whole = n // t
        if cfg.stateful:
            inference.reset_states(model)
            for k in range(whole):
                x = frames_to_float(frames[k * t:(k + 1) * t]).reshape(1, t, *frames.shape[1:], 1)
                yield i, k * t, inference.forward(model, x)[2][0, ..., 0]
        else:
            per = max(1, chunk // t)
            for k in range(0, whole, per):
                m = min(per, whole - k)
                x = frames_to_float(frames[k * t:(k + m) * t]).reshape(m, t, *frames.shape[1:], 1)
                yield i, k * t, inference.forward(model, x)[2][..., 0].reshape(m * t, *frames.shape[1:])
        if n % t and n >= t:
            if cfg.stateful:
                inference.reset_states(model)
            x = frames_to_float(frames[n - t:n]).reshape(1, t, *frames.shape[1:], 1)
            recon = inference.forward(model, x)[2][0, ..., 0]
            yield i, whole * t, recon[t - n % t:]
        if cfg.stateful:
            inference.reset_states(model)


class RunViewer:
    """A finished run in the app: the events a training session would send, without training.

    `run()` sends RunStarted, Baselines, one EpochEnd per history row, the views' Snapshot and a
    RunFinished; afterwards `inspect`, `full_snapshot` and `save_checkpoint` serve the app as a
    training session's do. Nothing is written into the run directory.
    """

    def __init__(self, path: str | os.PathLike, listener: Optional[Callable[[Any], None]] = None,
                 sequences: Optional[list] = None, data_paths: Optional[list] = None,
                 other_paths: Optional[list] = None):
        """`sequences` or `other_paths`: other data to apply the run to (whole, no validation);
        `data_paths`: where the run's own data is now, if it moved."""
        self.path = Path(path)
        self.listener = listener or (lambda event: None)
        self._sequences = sequences
        self._data_paths = data_paths
        self._other_paths = other_paths
        self.run_store: Optional[Run] = None
        self.inspector = None
        self.model = None
        self.data: Optional[PreparedData] = None
        self.history: list[dict[str, Any]] = []
        self.config: RunConfig = RunConfig()
        self._stop = False
        self.running = False
        self.paused = False

    def stop(self) -> None:
        self._stop = True

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def request_snapshot(self, split: str, sequence: int, start: int) -> None:
        pass

    def run(self) -> dict[str, Any]:
        self.running = True
        try:
            return self._open()
        except VaeViewerError as exc:
            self.listener(ev.RunFinished("error", str(exc)))
            raise
        finally:
            self.running = False

    def _open(self) -> dict[str, Any]:
        self.listener(ev.Message(f"opening {self.path}"))
        run = self.run_store = Run(self.path)
        # The app never writes into an opened run: no --out for anything it does with it.
        run.config = run.config.replace(out=None)
        self.model, self.config, self.history = run.model, run.config, list(run.history)
        self.listener(ev.Message("loading the data and computing the baselines"))
        if self._sequences is None and self._other_paths:
            from vaeviewer.data.sources import load_sequences

            self._sequences = load_sequences(self._other_paths, run.frame_shape)
            self.config = self.config.replace(paths=[os.path.abspath(p) for p in self._other_paths], demo=False)
        if self._sequences is not None:       # other data: every frame, no validation part
            inspector = run.inspector(self._sequences)
        elif self._data_paths:                # the run's own data, moved: split as the run did
            run.config = self.config = run.config.replace(paths=[os.path.abspath(p) for p in self._data_paths],
                                                          demo=False)
            inspector = run.inspector()
            run.check_same_data(inspector.data)
        else:
            inspector = run.inspector()
        self.inspector, self.data = inspector, inspector.data
        if self._stop:
            raise VaeViewerError("stopped before the run was opened")
        self.listener(self.started_event(0))
        if inspector.baselines is not None:
            self.listener(ev.Baselines(mean_frame_mse=inspector.baselines[0], pca_mse=inspector.baselines[1],
                                       window_pca_mse=inspector.window_pca_mse, window=self.config.model_window))
        shown = []
        for row in self.history:
            shown.append(row)
            train = {k: row[k] for k in ("loss", "reconstruction", "kl") if isinstance(row.get(k), (int, float))}
            valid = {k[4:]: row[k] for k in ("val_loss", "val_reconstruction", "val_kl", "val_mse")
                     if isinstance(row.get(k), (int, float))}
            self.listener(ev.EpochEnd(int(row.get("epoch", len(shown))) - 1, train, valid, float(row.get("seconds") or 0.0),
                                      verdict=inspector.verdict(row, shown) if inspector.baselines else None))
        terms, snapshot = inspector.validate()
        if snapshot is not None:
            self.listener(snapshot)
        summary = {"variant": self.config.variant, "stateful": self.config.stateful, "window": self.config.model_window,
                   "epochs": len(self.history), "val_mse": terms.get("mse"), "opened": str(self.path),
                   "reason": "completed", "seconds": sum(float(r.get("seconds") or 0.0) for r in self.history)}
        best = min((r for r in self.history if isinstance(r.get("val_loss"), (int, float))),
                   key=lambda r: r["val_loss"], default=None)
        n = len(self.history)
        text = f"opened {self.path} ({n} epoch{'' if n == 1 else 's'} trained; best.keras"
        text += f" from epoch {best['epoch']})" if best else ")"
        if terms.get("mse") is not None and inspector.baselines:
            verdict = inspector.verdict({"val_mse": terms["mse"], "val_kl": terms.get("kl")}, self.history)
            summary.update(verdict.as_dict())
            summary["kept_epoch"] = best["epoch"] if best else None
            text += f". {verdict.text}"
        self.listener(ev.RunFinished("completed", text, summary))
        return summary

    @property
    def applied_to_other_data(self) -> bool:
        """True when the run is shown over other data than its own (Apply run to data)."""
        return self._sequences is not None or bool(self._other_paths)

    def inspect(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        if self.inspector is None:
            raise VaeViewerError("the run is not open yet")
        self.inspector.selected = (split, sequence, start)
        return self.inspector.window(split, sequence, start)

    def full_snapshot(self) -> Optional[ev.Snapshot]:
        return self.inspector.full_snapshot() if self.inspector is not None else None

    def save_checkpoint(self, path: str | Path) -> None:
        from vaeviewer.models.io import save_model

        if Path(path).resolve().parent == self.path.resolve():
            raise VaeViewerError(f"{path}: an opened run is read-only; save the checkpoint elsewhere")
        save_model(self.model, path)

    def started_event(self, steps: int) -> ev.RunStarted:
        return self.inspector.started_event(steps, sum(len(s) for s in self.data.train))
