"""Synthetic events and a fake TrainingSession (no TensorFlow) for fast GUI tests."""

import threading
import time

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.training import events as ev

H, W = 8, 10


def make_snapshot(split="valid", sequence=0, start=0, t=4, k=3, n_latents=40, lengths=(30, 30),
                  with_latents=True, seed=0) -> ev.Snapshot:
    """A synthetic snapshot: ramps as inputs, a noisy copy as reconstruction."""
    rng = np.random.default_rng(seed + start)
    frames = np.linspace(0, 1, t * H * W, dtype=np.float32).reshape(t, H, W)
    frames = np.ascontiguousarray(np.roll(frames, start, axis=2))
    recon = np.clip(frames + rng.normal(0, 0.1, frames.shape).astype(np.float32), 0, 1)
    snap = ev.Snapshot(split=split, sequence=sequence, start=start, inputs=frames, reconstruction=recon,
                       frame_error=((frames - recon) ** 2).mean(axis=(1, 2)))
    if with_latents:
        seqs = np.repeat(np.arange(len(lengths)), n_latents // len(lengths))
        starts = np.tile(np.arange(n_latents // len(lengths)) * 2, len(lengths))
        snap.latents = rng.normal(size=(len(seqs), k)).astype(np.float32)
        snap.latent_sequence, snap.latent_frame = seqs, starts
        snap.latent_split = "valid"
        m = sum(lengths)
        snap.timeline_error = rng.random(m).astype(np.float32) * 0.05
        snap.timeline_sequence = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
        snap.timeline_frame = np.concatenate([np.arange(n) for n in lengths])
    return snap


class FakeSession:
    """Speaks the TrainingSession interface with synthetic events; `batch_s` per batch."""

    instances: list = []
    model = None        # no Keras model: nothing to lose on closing
    inspector = None

    def __init__(self, config: RunConfig, listener, sequences=None, batch_s: float = 0.005):
        self.config, self.listener = config, listener
        self.batch_s = batch_s
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._requests: list = []
        self._running = False
        self.history: list[dict] = []
        self.inspected: list = []
        self.saved: list = []
        self.lengths = (30, 30)
        self.selected = ("valid", 0, 0)
        FakeSession.instances.append(self)

    def stop(self):
        self._stop.set()
        self._unpaused.set()

    def pause(self):
        self._unpaused.clear()

    def resume(self):
        self._unpaused.set()

    @property
    def paused(self):
        return not self._unpaused.is_set()

    def request_snapshot(self, split, sequence, start):
        self._requests.append((split, sequence, start))

    def _snap(self, split, seq, start, latents=False):
        return make_snapshot(split, seq, start, t=self.config.window, lengths=self.lengths, with_latents=latents)

    def run(self):
        self._running = True
        cfg, emit = self.config, self.listener
        steps = cfg.steps_per_epoch or 5
        emit(ev.Message("loading data"))
        emit(ev.RunStarted(config=cfg.to_dict(), device="CPU", precision="float32", n_sequences=2,
                           frame_shape=(H, W), n_train=40, n_valid=10, steps_per_epoch=steps,
                           epochs=cfg.epochs, train_lengths=list(self.lengths), valid_lengths=list(self.lengths)))
        emit(ev.Baselines(mean_frame_mse=0.05, pca_mse=0.02))
        reason, g = "completed", 0
        try:
            for epoch in range(cfg.epochs):
                for step in range(steps):
                    while not self._unpaused.is_set():
                        self._unpaused.wait(0.01)
                    if self._stop.is_set():
                        raise StopIteration
                    while self._requests:
                        self.selected = self._requests.pop(0)
                        emit(self._snap(*self.selected))
                    time.sleep(self.batch_s)
                    g += 1
                    loss = 1.0 / (1 + 0.1 * g)
                    emit(ev.BatchEnd(epoch, step, g, loss, loss * 0.9, loss * 0.1, 1000.0, 1.0))
                row = {"epoch": epoch, "loss": loss, "reconstruction": loss * 0.9, "kl": loss * 0.1,
                       "val_loss": loss * 1.1, "val_reconstruction": loss, "val_kl": loss * 0.1, "val_mse": loss * 0.03}
                self.history.append(row)
                emit(ev.EpochEnd(epoch, {"loss": loss, "reconstruction": loss * 0.9, "kl": loss * 0.1},
                                 {"loss": loss * 1.1, "reconstruction": loss, "kl": loss * 0.1, "mse": loss * 0.03}, 0.1))
                emit(self._snap(*self.selected, latents=True))
        except StopIteration:
            reason = "stopped"
        self._running = False
        emit(ev.RunFinished(reason, reason, {"epochs": len(self.history)}))
        return {"epochs": len(self.history)}

    def inspect(self, split, sequence, start):
        self.inspected.append((split, sequence, start))
        self.selected = (split, sequence, start)
        return self._snap(split, sequence, start)

    def save_checkpoint(self, path):
        self.saved.append(str(path))
        with open(path, "w") as fh:
            fh.write("fake")


def fake_factory(batch_s: float = 0.005):
    def factory(config, listener, sequences=None):
        return FakeSession(config, listener, sequences, batch_s=batch_s)
    return factory
