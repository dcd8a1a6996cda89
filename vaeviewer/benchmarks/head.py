"""`vaeviewer bench --only head`: the conv3d encoder heads side by side, pool over flatten.

For each case (frame size, window) and seed, both heads are built from the default RunConfig
(auto precision, dropout, inner_dim, beta scaled by the data) and trained on the same demo
windows, in interleaved rounds so that a shared machine's load hits both alike. Reported per
head: weights, checkpoint size on disk (model plus Adam state, as a run saves it), training
samples/s (the first, tracing step excluded), validation MSE after the same number of steps
and after the same training time (the faster head keeps training until it has used the slower
one's time), and the training MSE on as many training windows (a gap to the validation MSE is
memorisation). The ratios are pool / flatten: below 1 is better for MSE, size and weights,
above 1 for samples/s.
"""

from __future__ import annotations

import gc
import os
import tempfile
from typing import Any

import numpy as np

from vaeviewer.benchmarks.clock import now
from vaeviewer.config import CONV3D_HEADS, RunConfig

HEADS = ("flatten", "pool")   # flatten first: the ratios are pool / flatten


def _demo_windows(frame_shape, window: int, seed: int, n_sequences: int = 4, n_frames: int = 600):
    """(train frames per sequence, validation windows, training windows for the gap): a time split
    as the app's (the last 20% of every sequence is validation), float32 in 0..1."""
    from vaeviewer.data.demo import demo_sequences
    from vaeviewer.data.windows import frames_to_float

    seqs = [frames_to_float(s.frames) for s in demo_sequences(n_sequences, n_frames, frame_shape, seed=seed)]
    cut = int(n_frames * 0.8)
    train = [s[:cut] for s in seqs]
    valid = np.stack([s[cut + i:cut + i + window] for s in seqs for i in range(0, n_frames - cut - window + 1, window)])
    rng = np.random.default_rng(seed + 7)
    picks = [(k, int(rng.integers(0, cut - window + 1))) for k in rng.integers(0, len(train), len(valid))]
    seen = np.stack([train[k][i:i + window] for k, i in picks])
    return train, valid[..., None], seen[..., None]


def _batches(train, window: int, batch_size: int, rng: np.random.Generator):
    """Endless random batches of sliding windows (stride 1) from the training frames."""
    while True:
        rows = []
        for k in rng.integers(0, len(train), batch_size):
            i = int(rng.integers(0, len(train[k]) - window + 1))
            rows.append(train[k][i:i + window])
        yield np.stack(rows)[..., None]


def _mse(model, x: np.ndarray) -> float:
    from vaeviewer.models.inference import reconstruct

    return float(np.mean((reconstruct(model, x) - x) ** 2))


def _checkpoint_mb(model) -> float:
    from vaeviewer.models.io import save_model

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "last.keras")
        save_model(model, path)
        return os.path.getsize(path) / 1e6


def _case(frame_shape, window: int, steps: int, batch_size: int, seed: int, rounds: int) -> dict[str, Any]:
    from vaeviewer.models import builders

    train, valid, seen = _demo_windows(frame_shape, window, seed)
    frames = np.concatenate(train)
    mean_frame = frames.mean(axis=0)
    spread = float(np.sqrt(np.mean((frames - mean_frame) ** 2)))   # as baselines.frame_statistics
    models, feeds, seconds, done = {}, {}, {}, {}
    for head in HEADS:
        cfg = RunConfig(demo=True, variant="conv3d", window=window, batch_size=batch_size, seed=seed,
                        conv3d_head=head)
        model = builders.build_from_config(cfg, frame_shape, beta=builders.effective_beta(cfg, spread))
        builders.set_frame_statistics(model, mean_frame, spread)
        models[head], seconds[head], done[head] = model, 0.0, 0
        feeds[head] = _batches(train, window, batch_size, np.random.default_rng(seed))   # the same batches

    def train_steps(head: str, k: int) -> None:
        for _ in range(k):
            x = next(feeds[head])
            t0 = now()
            models[head].train_on_batch(x)
            dt = now() - t0
            if done[head] > 0:          # the first step traces the function: not timed
                seconds[head] += dt
            done[head] += 1

    per_round = max(1, steps // rounds)
    while done[HEADS[0]] < steps:
        k = min(per_round, steps - done[HEADS[0]])
        for head in HEADS:
            train_steps(head, k)
    entry: dict[str, Any] = {head: {} for head in HEADS}
    for head, model in models.items():
        e = entry[head]
        e["params"] = int(model.count_params())
        e["samples_per_s"] = (steps - 1) * batch_size / seconds[head] if seconds[head] else float("nan")
        e["val_mse_equal_steps"] = _mse(model, valid)
        e["train_mse_equal_steps"] = _mse(model, seen)
        e["checkpoint_mb"] = _checkpoint_mb(model)
    # Equal time: the faster head trains on until it has spent the slower one's seconds.
    fast = max(HEADS, key=lambda h: entry[h]["samples_per_s"])
    slow = next(h for h in HEADS if h != fast)
    per_step = seconds[fast] / max(done[fast] - 1, 1)
    while seconds[fast] + 0.5 * per_step < seconds[slow]:
        train_steps(fast, 1)
    entry[slow]["val_mse_equal_time"] = entry[slow]["val_mse_equal_steps"]
    entry[fast]["val_mse_equal_time"] = _mse(models[fast], valid)
    entry[slow]["steps_equal_time"], entry[fast]["steps_equal_time"] = steps, done[fast]
    entry["mean_frame_val_mse"] = float(np.mean((valid[..., 0] - mean_frame) ** 2))
    del models
    gc.collect()
    return entry


def _ratios(entry: dict[str, Any]) -> dict[str, float]:
    pool, flat = entry["pool"], entry["flatten"]
    keys = ("params", "checkpoint_mb", "samples_per_s", "val_mse_equal_steps", "val_mse_equal_time",
            "train_mse_equal_steps")
    return {k: pool[k] / flat[k] if flat[k] else float("nan") for k in keys}


def bench_conv3d_head(quick: bool = False, seeds=(0, 1), cases=None, steps: int | None = None,
                      batch_size: int | None = None) -> dict[str, Any]:
    """Both conv3d heads side by side on the demo data; figures per case and seed, ratios pool/flatten.

    Cases (default): 64x80 at window 10 (the default) and 5, and 61x77 at window 10, each a
    ((H, W), T). Full: 150 steps of batch 32 in 5 rounds, seeds 0 and 1; quick: 30 steps of batch
    16, seed 0 (noisy: a smoke run; on a busy 2-core machine about 7 minutes).
    """
    from vaeviewer.models.precision import device_description, resolve_precision

    assert set(HEADS) == set(CONV3D_HEADS)
    steps = steps or (30 if quick else 150)
    batch_size = batch_size or (16 if quick else 32)
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    cases = cases or [((64, 80), 10), ((64, 80), 5), ((61, 77), 10)]
    report: dict[str, Any] = {"device": device_description(), "precision": resolve_precision("auto"),
                              "steps": steps, "batch_size": batch_size, "seeds": list(seeds), "cases": {},
                              "ratios_pool_over_flatten": {}}
    for frame_shape, window in cases:
        label = f"{frame_shape[0]}x{frame_shape[1]} T={window}"
        runs = [_case(frame_shape, window, steps, batch_size, seed, rounds=5) for seed in seeds]
        report["cases"][label] = {f"seed {s}": r for s, r in zip(seeds, runs)}
        per_seed = [_ratios(r) for r in runs]
        # The geometric mean over seeds: a ratio of 2 and one of 0.5 average to 1.
        report["ratios_pool_over_flatten"][label] = {
            k: float(np.exp(np.mean([np.log(r[k]) for r in per_seed]))) for k in per_seed[0]}
    return report


def format_table(report: dict[str, Any]) -> str:
    """The figures as a plain-text table: one line per case, seed and head, then the ratios."""
    lines = [f"{'case':<15}{'seed':>5} {'head':<8}{'params':>11}{'MB':>8}{'samples/s':>11}"
             f"{'val@steps':>11}{'val@time':>10}{'steps@t':>8}{'train':>10}{'meanframe':>10}"]
    for label, seeds in report["cases"].items():
        for seed, entry in seeds.items():
            for head in HEADS:
                e = entry[head]
                lines.append(f"{label:<15}{seed.split()[-1]:>5} {head:<8}{e['params']:>11,}{e['checkpoint_mb']:>8.1f}"
                             f"{e['samples_per_s']:>11.1f}{e['val_mse_equal_steps']:>11.5f}"
                             f"{e['val_mse_equal_time']:>10.5f}{e['steps_equal_time']:>8}"
                             f"{e['train_mse_equal_steps']:>10.5f}{entry['mean_frame_val_mse']:>10.5f}")
    lines.append("pool / flatten (geometric mean over seeds):")
    for label, r in report["ratios_pool_over_flatten"].items():
        lines.append(f"  {label:<15}" + "  ".join(f"{k} {v:.3f}" for k, v in r.items()))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - manual runs
    import json
    import sys

    result = bench_conv3d_head(quick="--quick" in sys.argv)
    print(json.dumps(result, indent=2))
    print(format_table(result))
