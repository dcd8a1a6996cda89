"""The Inspector: a model, its data and its config, answering every question a view asks.

It holds no thread and does not know whether anything trains. The trainer owns one while it
runs (and tells it when the weights change); `open_run` (in `vaeviewer.training.opened_run`) makes
one for a finished run directory. Everything goes through `models.inference`, the one forward
path.

Windows and frames: the views name a window by (split, sequence, first frame). For conv2d a
"window" is `config.window` consecutive frames, each encoded on its own; for window models it
is one model input of `config.model_window` frames. Stateful models are walked from the start
of the sequence (their state carries), through `inference.StateCheckpoints`.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Optional

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.data.windows import frames_to_float
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.prepare import PreparedData, model_batch
from vaeviewer.training.run_facts import RunFacts
from vaeviewer.training.timeline import TimelineAverage, WalkResult, timeline_index, timeline_stride


def _one_at_a_time(method):
    """Run `method` under the Inspector's lock: a stateful model's batch-1 twin carries state, so a
    validation on the training thread and a view or decode on the app's worker must not interleave."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


class Inspector(RunFacts):
    """Views of one model over prepared data.

    Args:
        model: a built VAE.
        data: the prepared data (split, window indices) the views walk.
        config: the run's settings.
        baselines: (mean-frame MSE, per-frame PCA MSE) on `data`'s validation frames, if known.
        window_pca_mse: window models: PCA with K components per window (equal budget).

    `step` names the training step of the weights (the trainer sets it) and `live` is True while
    a trainer is running (live views may then start stateful walks from slightly older states).
    """

    def __init__(self, model, data: PreparedData, config: RunConfig, *,
                 baselines: Optional[tuple[float, float]] = None, window_pca_mse: Optional[float] = None,
                 precision: str = "float32", device: str = "CPU"):
        self.model = model
        self.data = data
        self.config = config
        self.baselines = baselines
        self.window_pca_mse = window_pca_mse
        self.precision = precision
        self.device = device
        self.step = 0
        self.live = False
        self.state_budget_bytes: Optional[int] = None   # None: inference.STATE_BUDGET_BYTES
        self.selected = ("valid", 0, 0) if data.valid else ("train", 0, 0)
        self._version = 0
        self._twin = None
        self._twin_token: Any = None
        self.state_checkpoints = None
        self.last_kl_per_dim: Optional[np.ndarray] = None
        self.lock = threading.RLock()

    @classmethod
    def open(cls, run_dir, sequences: Optional[list] = None) -> "Inspector":
        """The Inspector of a finished run directory: its best.keras over its own data (split as in
        training, with baselines), or over `sequences` taken whole. Read-only."""
        from vaeviewer.training.opened_run import Run   # lazily: a Run makes Inspectors

        return Run(run_dir).inspector(sequences)

    # ---- weights ----------------------------------------------------------------------------
    def weights_changed(self) -> None:
        """Say that the weights were set other than by a training step (restore-best, a load)."""
        self._version += 1

    def set_model(self, model) -> None:
        self.model = model
        self._twin = None
        self.weights_changed()

    def weights_token(self) -> tuple:
        """Names the model's current weights: changes after a training step or any set_weights."""
        return (id(self.model), self.step, self._version)

    def viewer_model(self):
        """A model that takes batch-1 windows: the model itself, or a weight-synced stateful twin."""
        from vaeviewer.models import inference

        if not self.config.stateful:
            return self.model
        if self._twin is None:
            self._twin = inference.inference_twin(self.model)
            self._twin_token = self.weights_token()
        token = self.weights_token()
        if self._twin_token != token and self._twin is not self.model:
            self._twin.set_weights(self.model.get_weights())
            self._twin_token = token
        return self._twin

    # ---- data ---------------------------------------------------------------------------
    def split_list(self, split: str) -> list:
        return self.named_split(split)[1]

    def named_split(self, split: str) -> tuple[str, list]:
        """("valid" or "train", its sequences): without validation data every split is the training part."""
        d = self.data
        if split == "valid" and d.valid:
            return "valid", d.valid
        return "train", d.train

    # ---- one window in detail -----------------------------------------------------------
    @_one_at_a_time
    def window(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        """Input, reconstruction and per-frame error of one window of `config.window` frames."""
        from vaeviewer.models import inference

        cfg = self.config
        split, seqs = self.named_split(split)
        sequence = int(np.clip(sequence, 0, len(seqs) - 1))
        frames = seqs[sequence].frames
        view_t = cfg.window
        start = int(np.clip(start, 0, len(frames) - view_t))
        model = self.viewer_model()
        if not cfg.uses_windows:
            x = frames_to_float(frames[start:start + view_t])[..., None]
            _, _, recon = inference.forward(model, x)
        elif cfg.stateful:
            t = cfg.model_window
            k = start // t
            start = k * t
            x, recon = self.stateful_window(model, split, sequence, k)
        else:
            x = frames_to_float(frames[start:start + view_t])[None, ..., None]
            _, _, recon = inference.forward(model, x)
            x, recon = x[0], recon[0]
        inputs, rec = x[..., 0], recon[..., 0]
        err = np.mean((inputs - rec) ** 2, axis=(1, 2))
        return ev.Snapshot(split=split, sequence=sequence, start=start, inputs=inputs, reconstruction=rec,
                           frame_error=err)

    def checkpoints(self, split: str, model, token: Any = None):
        """The stateful views' state checkpoints for `token`'s weights (None: keep), planned for `split`."""
        from vaeviewer.models import inference

        if self.state_checkpoints is None:
            self.state_checkpoints = inference.StateCheckpoints(self.state_budget_bytes or inference.STATE_BUDGET_BYTES)
        cache = self.state_checkpoints
        if token is not None or cache.token is None:
            cache.use(token if token is not None else self.weights_token())
        t = self.config.model_window
        n_windows = sum(len(s) // t for s in self.split_list(split))
        cache.plan(split, n_windows, inference.state_nbytes(model))
        return cache

    def stateful_window(self, model, split: str, sequence: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(window k, its reconstruction), each (T, H, W, 1), with the state carried from the start.

        The state at the window's start comes from the nearest checkpoint at or before it, so
        any window costs at most n window passes, not k (see `inference.StateCheckpoints`).
        Checkpoints belong to the weights they were computed with and are dropped when the
        weights change, with one exception: while a trainer runs (`live`), a view starts from
        the states of the last validation or view, computed with slightly older weights, and
        walks on with the current ones, so that live views do not stall training. Once the run
        has ended every view is exact again.
        """
        window_at, (_, _, recon) = self._walk_stateful(model, split, sequence, k)
        return window_at(k)[0], recon[0]

    def _walk_stateful(self, model, split: str, sequence: int, k: int):
        """(window_at, inference.forward's outputs for window k) with the state carried from the
        sequence's start (see `stateful_window`); window_at(j) is window j as (1, T, H, W, 1)."""
        from vaeviewer.models import inference

        t = self.config.model_window
        frames = self.split_list(split)[sequence].frames
        cache = self.checkpoints(split, model, None if self.live else self.weights_token())

        def window_at(j: int) -> np.ndarray:
            return frames_to_float(frames[j * t:(j + 1) * t]).reshape(1, t, *frames.shape[1:], 1)

        return window_at, inference.walk_to_window(model, window_at, k, inference.forward, cache, split, sequence)

    # ---- a pass over a split ------------------------------------------------------------
    @_one_at_a_time
    def validate(self, check: Optional[Callable[[], None]] = None,
                 dense_timeline: bool = True) -> tuple[dict[str, float], Optional[ev.Snapshot]]:
        """One pass over the validation windows: loss terms, MSE, latents, per-frame errors.

        The loss terms, MSE and latents come from non-overlapping windows (each frame counted
        once). The error timeline shows, for stateless window models, each frame's error
        averaged over the windows `timeline_stride(T)` apart that hold it, so that it does not
        depend on where the frame sits in a window; for conv2d and for stateful runs (whose
        carried-state walk needs consecutive, non-overlapping windows) it is the error in the
        non-overlapping windows. A stateful pass also keeps the state checkpoints of the views.
        Without validation data the pass runs over the training windows and returns no terms.
        `check` is called before every batch (a trainer's stop check). `dense_timeline=False`
        keeps to the non-overlapping windows for the timeline too: the same loss terms, several
        times faster for a window model (the first look uses it).
        """
        d = self.data
        use_valid = bool(d.valid)
        result = self.walk("valid" if use_valid else "train", check=check, dense_timeline=dense_timeline)
        if result is None:
            return {}, None
        terms = result.terms(self.model) if use_valid else {}
        detail = self.window(*self.selected)
        result.fill(detail, self.config.max_scatter_points)
        self.last_kl_per_dim = detail.kl_per_dim
        return terms, detail

    @_one_at_a_time
    def walk(self, split: str, check: Optional[Callable[[], None]] = None, cover_all: bool = False,
             dense_timeline: bool = True) -> Optional["WalkResult"]:
        """Every non-overlapping window of `split` through the model (see `validate`).

        `cover_all`: also score the frames after a sequence's last whole window (a window
        ending at the sequence's last frame; from a reset state in stateful runs), so that every
        frame has an error.
        """
        from vaeviewer.data import windows as win
        from vaeviewer.models import inference

        cfg, d = self.config, self.data
        split, seqs = self.named_split(split)
        t = cfg.model_window
        index = d.valid_index if split == "valid" and d.valid_index is not None else win.make_windows(seqs, t, t)
        model = self.viewer_model()
        scored = np.ones(len(index), dtype=bool)
        averaged = None
        if dense_timeline and cfg.uses_windows and not cfg.stateful and t > 1:
            index, scored = timeline_index(seqs, index, t, timeline_stride(t), with_tail=cover_all)
            averaged = TimelineAverage([len(s) for s in seqs])
        checkpoints = self.checkpoints(split, model, self.weights_token()) if cfg.stateful else None
        out = WalkResult(split, t, cfg.loss)
        if cfg.stateful:
            order = np.lexsort((index.start, index.sequence))
            batches, prev = [], None
            for row in order:
                batches.append((index.sequence[row] != prev, np.array([row])))
                prev = index.sequence[row]
        else:
            rows = np.arange(len(index))
            batches = [(False, rows[i:i + cfg.batch_size]) for i in range(0, len(rows), cfg.batch_size)]
        for reset, rows in batches:
            if check is not None:
                check()
            if cfg.stateful and reset:
                inference.reset_states(model)
            x = model_batch(win.gather(seqs, index, rows, t), cfg)
            if checkpoints is not None:   # the state at this window's start, for the views
                checkpoints.store(split, int(index.sequence[rows[0]]), int(index.start[rows[0]]) // t,
                                  lambda: inference.carried_states(model))
            z_mean, z_log_var, recon = inference.forward(model, x)
            if averaged is not None:
                averaged.add(index.sequence[rows], index.start[rows], ((x - recon) ** 2).mean(axis=(2, 3, 4)))
                keep = scored[rows]
                if not keep.any():
                    continue
                x, recon, z_mean, z_log_var, rows = x[keep], recon[keep], z_mean[keep], z_log_var[keep], rows[keep]
            out.add(x, recon, z_mean, z_log_var, index.sequence[rows], index.start[rows])
        if cfg.stateful:
            inference.reset_states(model)
            if cover_all:
                self._stateful_tails(model, seqs, out)
        if out.n == 0:
            return None
        if averaged is not None:
            out.timeline = averaged.result()
        return out

    def _stateful_tails(self, model, seqs: list, out: "WalkResult") -> None:
        """Score each sequence's frames after its last whole window: the window ending at its last
        frame, from a reset state (a stateful walk has no state at a frame between windows)."""
        from vaeviewer.models import inference

        t = self.config.model_window
        for i, seq in enumerate(seqs):
            n = len(seq)
            if n % t == 0 or n < t:
                continue
            x = frames_to_float(seq.frames[n - t:n]).reshape(1, t, *seq.frames.shape[1:], 1)
            inference.reset_states(model)
            z_mean, z_log_var, recon = inference.forward(model, x)
            per_frame = ((x - recon) ** 2).mean(axis=(2, 3, 4))[0]
            tail = np.arange(n - n % t, n)
            out.extra_timeline.append((np.full(len(tail), i, np.int64), tail, per_frame[tail - (n - t)]))
        inference.reset_states(model)

    def full_snapshot(self) -> Optional[ev.Snapshot]:
        """Latents, error timeline and the selected window, computed now."""
        return self.validate()[1]

    # ---- the decoder ----------------------------------------------------------------------
    @_one_at_a_time
    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_mean, z_log_var) of each sample of `frames` (the model's sample shape, batched)."""
        from vaeviewer.models import inference

        x = np.asarray(frames, np.float32)
        target = self.viewer_model()
        if target is not self.model:   # stateful: each window from a reset state
            parts = []
            for row in inference._as_input(self.model, x):
                inference.reset_states(target)
                parts.append(inference.forward(target, row[None])[:2])
            inference.reset_states(target)
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        z_mean, z_log_var, _ = inference.forward(self.model, inference._as_input(self.model, x))
        return z_mean, z_log_var

    @_one_at_a_time
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Frames decoded from latent points: (B, *sample_shape) for (B, K), one sample for (K,)."""
        from vaeviewer.models import inference

        return inference.decode(self.model, z)

    @_one_at_a_time
    def window_z(self, split: str, sequence: int, start: int) -> np.ndarray:
        """z mean (K,) of the model input that starts at `start` (for conv2d: that frame)."""
        cfg = self.config
        split, seqs = self.named_split(split)
        sequence = int(np.clip(sequence, 0, len(seqs) - 1))
        frames = seqs[sequence].frames
        t = cfg.model_window
        start = int(np.clip(start, 0, len(frames) - t))
        if cfg.stateful:
            z_mean = self._walk_stateful(self.viewer_model(), split, sequence, start // t)[1][0]
            return np.asarray(z_mean[0], np.float32)
        x = frames_to_float(frames[start:start + t])
        x = x[..., None] if not cfg.uses_windows else x[None, ..., None]
        return self.encode(x)[0][0]

    def traverse(self, z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
        """Decode `z` with dimension `dim` set to each of `values`: (len(values), *sample_shape)."""
        z = np.asarray(z, np.float32)
        if not 0 <= dim < z.shape[-1]:
            raise VaeViewerError(f"latent dimension {dim} does not exist (the model has {z.shape[-1]})")
        points = np.repeat(z[None], len(values), axis=0)
        points[:, dim] = np.asarray(values, np.float32)
        return self.decode(points)

    def interpolate(self, z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
        """Decode `steps` points evenly from z_a to z_b (both ends included)."""
        if steps < 2:
            raise VaeViewerError("interpolation needs at least 2 steps")
        w = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, None]
        points = (1.0 - w) * np.asarray(z_a, np.float32)[None] + w * np.asarray(z_b, np.float32)[None]
        return self.decode(points)
