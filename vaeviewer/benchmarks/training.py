"""Benchmarks of the training session: stateful vs stateless, and the session's own overhead."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vaeviewer.benchmarks.clock import BatchClock, now
from vaeviewer.config import RunConfig
from vaeviewer.data.windows import frames_to_float
from vaeviewer.training import events as ev
from vaeviewer.training.compare_run import release_graph
from vaeviewer.training.session import TrainingSession


def _session_rate(cfg: RunConfig) -> float:
    clock = BatchClock()
    TrainingSession(cfg, clock).run()
    return clock.rate(cfg.batch_size)


def bench_stateful(steps: int = 40, quick: bool = False) -> dict[str, Any]:
    """Stateful ConvLSTM samples/s as a ratio of stateless on the same non-overlapping windows."""
    steps = 8 if quick else steps
    base = RunConfig(demo=True, demo_sequences=2, demo_frames=1000, variant="convlstm", window=10, stride=10,
                     batch_size=8, epochs=1, steps_per_epoch=steps, valid_fraction=0.2, snapshot_interval_s=3600.0)
    stateless = _session_rate(base)
    stateful = _session_rate(base.replace(stateful=True))
    return {"stateless_samples_per_s": stateless, "stateful_samples_per_s": stateful,
            "stateful_over_stateless": stateful / stateless if stateless else None, "target": ">= 0.9"}


def bench_session_overhead(steps: int = 60, quick: bool = False) -> dict[str, Any]:
    """Session samples/s (with its events, prefetch and 1 s snapshots) over a bare `model.fit`."""
    import keras

    from vaeviewer.models import builders, precision
    from vaeviewer.data.windows import frames_to_float

    steps = 10 if quick else steps
    cfg = RunConfig(demo=True, demo_sequences=2, demo_frames=1500, variant="conv2d", batch_size=64, epochs=1,
                    steps_per_epoch=steps, valid_fraction=0.2, snapshot_interval_s=1.0)
    session_rate = _session_rate(cfg)

    # The bare reference: the same model, the same frames, as one array handed to fit().
    from vaeviewer.data.demo import demo_sequences

    precision.apply_precision(cfg.precision)
    model = builders.build_from_config(cfg, (64, 80))
    frames = np.concatenate([s.frames for s in demo_sequences(2, 1500, seed=cfg.seed)])
    x = frames_to_float(frames[: steps * cfg.batch_size + cfg.batch_size])[..., None]
    clock = BatchClock()

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            clock.stamp()

    model.fit(x, batch_size=cfg.batch_size, epochs=1, steps_per_epoch=steps, shuffle=True, verbose=0, callbacks=[Stamp()])
    fit_rate = clock.rate(cfg.batch_size)
    keras.mixed_precision.set_global_policy("float32")
    return {"session_samples_per_s": session_rate, "fit_samples_per_s": fit_rate,
            "overhead": 1 - session_rate / fit_rate if fit_rate else None, "target": "<= 0.05"}


def bench_stateful_view(frames: int = 10_000, window: int = 10, repeats: int = 15, quick: bool = False) -> dict[str, Any]:
    """Time to show a stateful window deep in a sequence, as a ratio of one forward pass.

    A stateful ConvLSTM run on one demo sequence whose validation part has `frames` frames.
    After the run (its validation kept the state checkpoints) the bench times, on one clock and
    side by side: one forward pass of a window on the batch-1 twin, and `session.inspect` of the
    last window and of the deepest window farthest from a checkpoint (each from the checkpoints
    alone: the states of an earlier view are forgotten first), and the first view of the last
    window of the training part, which has no checkpoints yet (a walk from its start, as every
    view was before the checkpoints). The model is small (32x40 frames, filters 8,16) so the
    bench takes about a minute on 2 cores; its checkpoint budget is scaled so that the spacing
    is the one the default model (64x80, filters 32,64) gets with the default budget at
    `frames` frames, so the ratios stand for the default model's.
    """
    from vaeviewer.models import builders, inference

    repeats = 3 if quick else repeats
    cfg = RunConfig(demo=True, demo_sequences=1, demo_frames=2 * frames, valid_fraction=0.5, frame_size=(32, 40),
                    filters=(8, 16), inner_dim=32, latent_dim=6, variant="convlstm", window=window, stride=window,
                    stateful=True, batch_size=4, epochs=1, steps_per_epoch=2, precision="float32",
                    snapshot_interval_s=3600.0, restore_best=False)
    default = builders.build_vae("convlstm", (64, 80), window=window, filters=RunConfig().filters,
                                 inner_dim=RunConfig().inner_dim, latent_dim=RunConfig().latent_dim, stateful=True,
                                 batch_size=1)
    default_state = inference.state_nbytes(default)
    n_windows = frames // window
    spacing = max(1, math.ceil(n_windows * default_state / inference.STATE_BUDGET_BYTES))
    del default

    session = TrainingSession(cfg)
    small = builders.build_vae("convlstm", (32, 40), window=window, filters=cfg.filters, inner_dim=cfg.inner_dim,
                               latent_dim=cfg.latent_dim, stateful=True, batch_size=1)
    session.state_budget_bytes = math.ceil(n_windows * inference.state_nbytes(small) / spacing)
    del small
    t0 = now()
    session.run()
    run_seconds = now() - t0
    cache = session.inspector.state_checkpoints
    twin = session.inspector.viewer_model()
    seq = session.data.valid[0].frames
    last = len(seq) // window - 1
    used = cache.spacing("valid")
    worst = last - (last - (used - 1)) % used if last >= used - 1 else last   # k % n == n - 1: n - 1 steps

    x = frames_to_float(seq[last * window:(last + 1) * window]).reshape(1, window, *seq.shape[1:], 1)

    def timed(fn) -> float:
        cache._recent.clear()   # from the checkpoints alone, not from the previous view's walk
        t = now()
        fn()
        return now() - t

    step = inference.state_step_fn(twin)
    jobs = {"forward": lambda: inference.forward(twin, x), "step": lambda: step(x).numpy(),
            "last": lambda: session.inspect("valid", 0, last * window),
            "worst": lambda: session.inspect("valid", 0, worst * window)}
    for job in jobs.values():
        job()  # traced already by the run; once more for every cache
    # Rounds of all four side by side; the ratios are taken within a round (a shared machine's
    # load changes between rounds) and their medians reported.
    rounds = [{name: timed(job) for name, job in jobs.items()} for _ in range(repeats)]
    forward = float(np.median([r["forward"] for r in rounds]))
    view_last = float(np.median([r["last"] for r in rounds]))
    view_worst = float(np.median([r["worst"] for r in rounds]))

    def ratio(name: str) -> float:
        return float(np.median([r[name] / r["forward"] for r in rounds]))
    train_last = len(session.data.train[0].frames) // window - 1
    t = now()
    session.inspect("train", 0, train_last * window)
    first_train_view = now() - t
    return {
        "frames": len(seq), "windows": last + 1, "window": window, "frame_size": [32, 40], "filters": [8, 16],
        "checkpoint_spacing": used, "default_model_state_bytes": default_state,
        "budget_bytes_default": inference.STATE_BUDGET_BYTES, "checkpoint_bytes_bench_model": cache.nbytes(),
        "forward_s": forward, "view_last_s": view_last, "view_worst_s": view_worst,
        "view_last_over_forward": ratio("last"), "view_worst_over_forward": ratio("worst"),
        "state_step_over_forward": ratio("step"),
        "worst_window": worst, "first_view_without_checkpoints_s": first_train_view,
        "first_view_without_checkpoints_over_forward": first_train_view / forward,
        "run_seconds": run_seconds, "target": "view_worst_over_forward < 3",
    }


class _FirstVerdict:
    """Listener: seconds from Start to the first verdict (a first look or the first epoch's end) and
    to each stage before it, the step rate, and the steps an epoch has; stops the run at the first verdict."""

    def __init__(self) -> None:
        self.t0 = now()
        self.session: Any = None
        self.verdict_s: float | None = None
        self.kind = ""
        self.source = ""
        self.steps_per_epoch = 0
        self.n_train = self.n_valid = 0
        self.started_s: float | None = None    # data prepared and model built (RunStarted)
        self.baselines_s: float | None = None  # baselines computed: training starts
        self.setup_s: float | None = None      # the first step done (it traces the step function)
        self.look_s: float | None = None       # the first look's validation began
        self.batches: list[float] = []

    def __call__(self, event: Any) -> None:
        t = now() - self.t0
        if isinstance(event, ev.RunStarted):
            self.started_s = t
            self.steps_per_epoch = event.steps_per_epoch
            self.n_train, self.n_valid = event.n_train, event.n_valid
        elif isinstance(event, ev.Baselines):
            self.baselines_s = t
        elif isinstance(event, ev.BatchEnd):
            if self.setup_s is None:
                self.setup_s = t
            self.batches.append(t)
        elif isinstance(event, ev.Message) and event.text.startswith("first look"):
            self.look_s = t
        elif isinstance(event, (ev.FirstLook, ev.EpochEnd)) and self.verdict_s is None:
            self.verdict_s = t
            self.kind = event.verdict.kind if event.verdict is not None else "none"
            self.source = "first look" if isinstance(event, ev.FirstLook) else "epoch 1"
            self.session.stop()

    def step_s(self) -> float | None:
        """Seconds a training step takes, after the first (which traces)."""
        if len(self.batches) < 3:
            return None
        return (self.batches[-1] - self.batches[1]) / (len(self.batches) - 2)

    def epoch_estimate(self) -> float | None:
        """Seconds from Start to the end of the first epoch without a first look (setup + steps x step time)."""
        step = self.step_s()
        if self.setup_s is None or step is None:
            return None
        return self.setup_s + self.steps_per_epoch * step

    def stages(self) -> dict[str, float | None]:
        """Seconds spent in each stage from Start to the first verdict."""
        def span(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round(b - a, 1)
        look_from = self.look_s if self.source == "first look" else None
        return {"data_and_model_s": span(0.0, self.started_s), "baselines_s": span(self.started_s, self.baselines_s),
                "first_step_s": span(self.baselines_s, self.setup_s),
                "training_s": span(self.setup_s, look_from if look_from is not None else self.verdict_s),
                "validation_s": span(look_from, self.verdict_s)}


def first_verdict_table(name: str, rows: dict[str, dict[str, Any]], goal_s: float) -> str:
    """The first-verdict rows of one dataset as a printed table.

    Seconds from Start to the verdict, and of each stage before it: preparing the data and
    building the model, the baselines, the first training step (which traces it), the training
    after it, the first look's validation (its first call traces the validation functions), and
    the same validation again (traced already); a step's seconds after the first.
    """
    head = (f"{'variant':<18} {'verdict s':>9} {'from':<10} {'data+model':>10} {'baselines':>9} {'1st step':>8} "
            f"{'training':>8} {'validate':>8} {'again':>6} {'step s':>7} {'train/valid ex':>15}  within {goal_s:.0f} s")
    lines = [f"first verdict on {name}:", head]

    def cell(value: Any, width: int) -> str:
        return f"{'-' if value is None else value:>{width}}"
    for variant, r in rows.items():
        st = r["stages"]
        ok = r["first_verdict_s"] is not None and r["first_verdict_s"] <= goal_s
        lines.append(f"{variant:<18} {cell(r['first_verdict_s'], 9)} {r['from']:<10} {cell(st['data_and_model_s'], 10)} "
                     f"{cell(st['baselines_s'], 9)} {cell(st['first_step_s'], 8)} {cell(st['training_s'], 8)} "
                     f"{cell(st['validation_s'], 8)} {cell(st.get('validation_again_s'), 6)} {cell(r['step_s'], 7)} "
                     f"{str(r['n_train']) + '/' + str(r['n_valid']):>15}  {'yes' if ok else 'NO'}")
    return "\n".join(lines)


def bench_first_verdict(quick: bool = False, log: Any = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Seconds from Start to the first verdict for each variant at the default settings, on the
    demo data (4 sequences of 1500 frames, 64x80) and on an 800-frame clip (--quick: the clip only),
    with the first look (config.first_look_s) and, estimated from the step rate, without it (the
    first epoch's end). Each dataset's table is printed to `log` (stderr by default) as it finishes;
    the load average is recorded, as the figures depend on it. `overrides` changes the settings
    (a test's toy model); the figures that count are those at the defaults."""
    import os
    import sys

    log = sys.stderr if log is None else log
    variants = {"conv2d": {}, "conv3d": dict(variant="conv3d"), "convlstm": dict(variant="convlstm"),
                "convlstm-stateful": dict(variant="convlstm", stateful=True, stride=10)}
    datasets = {"clip_800": dict(demo_sequences=1, demo_frames=800)}
    if not quick:
        datasets = {"demo": {}, **datasets}
    goal = 60.0
    out: dict[str, Any] = {"first_look_s": RunConfig().first_look_s, "goal_s": goal,
                           "cpus": os.cpu_count(), "load_before": list(os.getloadavg())}
    # TensorFlow is imported before the clocks start, so that every variant is timed alike; the
    # first Start in a freshly opened app pays this import once more (the app imports it then).
    from vaeviewer.quiet import import_tensorflow

    t = now()
    import_tensorflow()
    out["tensorflow_import_s"] = round(now() - t, 1)
    for data_name, data in datasets.items():
        rows = {}
        for name, changes in variants.items():
            clock = _FirstVerdict()
            cfg = RunConfig(demo=True, epochs=1, **data, **changes).replace(**(overrides or {}))
            session = TrainingSession(cfg, clock)
            clock.session = session
            clock.t0 = now()
            session.run()
            # The same validation once more, now that its functions are traced: how much of the
            # first look's validation was tracing, how much the pass itself.
            t = now()
            session.full_snapshot()
            again = now() - t
            estimate = clock.epoch_estimate()
            step = clock.step_s()
            rows[name] = {"first_verdict_s": round(clock.verdict_s, 1) if clock.verdict_s else None,
                          "from": clock.source, "verdict": clock.kind,
                          "first_epoch_s_without_first_look": round(estimate, 1) if estimate else None,
                          "steps_per_epoch": clock.steps_per_epoch, "step_s": round(step, 3) if step else None,
                          "n_train": clock.n_train, "n_valid": clock.n_valid,
                          "stages": {**clock.stages(), "validation_again_s": round(again, 1)},
                          "load": round(os.getloadavg()[0], 2)}
            del session
            release_graph()
        out[data_name] = rows
        print(first_verdict_table(data_name, rows, goal), file=log, flush=True)
    out["load_after"] = list(os.getloadavg())
    out["all_within_goal"] = all(r["first_verdict_s"] is not None and r["first_verdict_s"] <= goal
                                 for name in datasets for r in out[name].values())
    return out


def bench_compare_overhead(quick: bool = False) -> dict[str, Any]:
    """Wall time of `vaeviewer compare` over the same rows made one by one with `vaeviewer train`
    (each a fresh process, as a user would type them), on the demo data at 32x40."""
    import subprocess
    import sys
    import tempfile

    steps = "10" if quick else "40"
    common = ["--demo", "--frame-size", "32x40", "--epochs", "1", "--steps-per-epoch", steps, "--seed", "0"]
    rows = [("conv2d", []), ("conv3d", ["--window", "10"]), ("convlstm", ["--window", "10"])]
    if quick:
        rows = rows[:2]

    def timed(args: list[str]) -> float:
        t0 = now()
        subprocess.run([sys.executable, "-m", "vaeviewer.cli", *args], check=True, capture_output=True, timeout=3600)
        return now() - t0

    with tempfile.TemporaryDirectory() as tmp:
        one_by_one = sum(timed(["train", *common, "--variant", v, *extra, "--out", f"{tmp}/train_{v}"]) for v, extra in rows)
        together = timed(["compare", *common, "--variants", ",".join(v for v, _ in rows), "--windows", "10",
                          "--out", f"{tmp}/compare"])
    return {"rows": [v for v, _ in rows], "train_one_by_one_s": round(one_by_one, 1), "compare_s": round(together, 1),
            "compare_over_train": round(together / one_by_one, 3), "target": "<= 1.05"}
