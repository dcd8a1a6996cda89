"""Stateful training over groups of whole sequences: the Moving-MNIST layout end to end, the resets,
and the latents of a group pass against the batch-1 twin walking each sequence alone."""

import json

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.data.sources import Sequence
from vaeviewer.data.windows import frames_to_float, make_stateful_plan
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession

T, B = 4, 4


def clips(n=16, frames=8, h=16, w=20, seed=0):
    """n short clips of a moving bright square (uint8), the Moving-MNIST layout in small."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, frames, h, w), np.uint8)
    for i in range(n):
        y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
        dy, dx = rng.choice([-1, 1], 2)
        for t in range(frames):
            out[i, t, y:y + 4, x:x + 4] = 255
            if not 0 <= y + dy <= h - 4:
                dy = -dy
            if not 0 <= x + dx <= w - 4:
                dx = -dx
            y, x = y + dy, x + dx
    return out


def as_sequences(arr):
    return [Sequence(f"clips[{i}]", arr[i], i, 0) for i in range(len(arr))]


def stateful_cfg(**changes):
    base = dict(demo=False, paths=["clips.npy"], variant="convlstm", window=T, stride=T, stateful=True, batch_size=B,
                epochs=1, steps_per_epoch=None, restore_best=False)
    base.update(changes)
    return tiny_config(**base)


def test_moving_mnist_layout_end_to_end_from_the_command_line(tmp_path, capsys):
    from vaeviewer.cli import main

    path = tmp_path / "clips.npy"
    np.save(path, clips())
    rc = main(["train", str(path), "--variant", "convlstm", "--window", str(T), "--stateful", "--batch-size", str(B),
               "--epochs", "1", "--steps-per-epoch", "3", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
               "--precision", "float32", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(out)
    # 8 frames: a time split's validation part (2 frames) holds no window of 4, so auto splits by sequence;
    # 16 - ceil(0.2 * 16) = 12 training clips make 3 groups of 4 whole clips.
    assert summary["split"] == "sequence" and summary["stateful_layout"] == "sequences"
    assert summary["groups"] == 3 and summary["dropped_frames"] == 0 and summary["left_out_sequences"] == 0
    assert summary["epochs"] == 1 and np.isfinite(summary["val_mse"])


def test_the_run_reports_its_layout_and_resets_exactly_at_group_starts(monkeypatch):
    from vaeviewer.models import inference

    log = []
    session = TrainingSession(stateful_cfg(valid_fraction=0.25), lambda e: log.append(e),
                              sequences=as_sequences(clips(n=14)))
    real = inference.reset_states

    def reset(model):
        if model is session.model:
            log.append("reset")
        real(model)

    monkeypatch.setattr(inference, "reset_states", reset)
    summary = session.run()
    # 14 clips, 4 for validation: 10 for training, 2 groups of 4, 2 clips sit out each pass
    assert summary["split"] == "sequence" and summary["stateful_layout"] == "sequences"
    assert summary["groups"] == 2 and summary["left_out_sequences"] == 2
    texts = [e.text for e in log if isinstance(e, ev.Message)]
    assert "stateful: 4 whole sequences per group, 2 groups, 0 frames dropped; 2 of 10 training sequences sit " \
           "out each pass (a different set each pass)" in texts
    assert any(t.startswith("split: by whole sequences, 10 for training and 4 for validation (auto") for t in texts)
    last_batch = max(i for i, e in enumerate(log) if isinstance(e, ev.BatchEnd))
    training = ["reset" if e == "reset" else "batch" for e in log[:last_batch + 1]
                if e == "reset" or isinstance(e, ev.BatchEnd)]
    assert training == ["reset", "batch", "batch"] * 2    # 2 windows per clip, a reset before each group


def test_group_pass_latents_equal_the_batch_one_twin_walking_each_sequence():
    from vaeviewer.models import builders, inference

    arr = clips(n=8, frames=12)
    seqs = as_sequences(arr)
    seqs[5] = Sequence("clips[5]", arr[5][:9], 5, 0)        # unequal: its group is cut to 2 windows
    cfg = stateful_cfg(paths=["x"])
    model = builders.build_from_config(cfg, (16, 20))
    plan = make_stateful_plan(seqs, T, B)
    assert plan.layout == "sequences" and len(plan.groups) == 2
    z_group = {}
    for gi, group in enumerate(plan.groups):
        inference.reset_states(model)
        for k in range(group.n_batches):
            x = np.stack([frames_to_float(seqs[s].frames[a:a + T]) for s, a in zip(group.sequence, group.starts[:, k])])
            z = np.asarray(model.encoder(x[..., None], training=False)[0])
            for j, s in enumerate(group.sequence.tolist()):
                z_group.setdefault(s, []).append(z[j])
    inference.reset_states(model)
    assert sorted(z_group) == list(range(8))
    for s, zs in z_group.items():
        n = len(zs)
        windows = frames_to_float(seqs[s].frames[:n * T]).reshape(n, T, 16, 20, 1)
        z_twin, _ = inference.encode_sequence_stateful(model, windows)
        np.testing.assert_allclose(np.stack(zs), z_twin, rtol=1e-4, atol=1e-5)
    # the state is carried: the second window's latent depends on the first window
    other = frames_to_float(seqs[0].frames[T:2 * T])[None, ..., None]
    z_fresh, _ = inference.encode_sequence_stateful(model, other)
    assert not np.allclose(z_fresh[0], z_group[0][1], atol=1e-6)


def test_a_single_long_recording_keeps_streams():
    arr = clips(n=1, frames=120)[0]
    session = TrainingSession(stateful_cfg(steps_per_epoch=2), sequences=[Sequence("long", arr, 0, 0)])
    summary = session.run()
    assert summary["split"] == "time" and summary["stateful_layout"] == "streams" and summary["groups"] == 1
    # 90 training frames: 4 streams of 5 windows of 4 frames, 10 frames left at the end
    assert summary["dropped_frames"] == 10 and session.data.train_streams.groups[0].n_batches == 5


@pytest.mark.parametrize("n, frames, best", [(16, 8, 12), (1, 120, 22), (3, 40, 7)])
def test_largest_stateful_batch_follows_the_layout(n, frames, best):
    from vaeviewer.training.prepare import check_fits, largest_stateful_batch

    seqs = as_sequences(clips(n=n, frames=frames))
    cfg = stateful_cfg(batch_size=64)
    assert largest_stateful_batch(cfg, seqs) == best
    check_fits(cfg.replace(batch_size=best), seqs)
    check_fits(cfg.replace(batch_size=max(1, best // 2)), seqs)


def test_the_batch_size_hint_fits_every_sequence_so_following_it_works():
    # Lengths from a user's trial: the hint once named the first sequence too short (s1, 24 frames:
    # "at most 6"), and batch 6 then failed on a shorter one (s3, 17 frames: "at most 4").
    import re

    from vaeviewer.errors import VaeViewerError
    from vaeviewer.training.prepare import largest_stateful_batch, prepare_data

    rng = np.random.default_rng(0)
    seqs = [Sequence(f"s{i}", rng.integers(0, 255, (n, 16, 20), dtype=np.uint8), i, 0)
            for i, n in enumerate([40, 24, 33, 17, 50, 28])]
    cfg = stateful_cfg(paths=[f"s{i}.npy" for i in range(6)], batch_size=8)
    with pytest.raises(VaeViewerError, match="use a batch size of at most") as info:
        prepare_data(cfg, seqs, rescale=False)
    hint = int(re.search(r"batch size of at most (\d+)", str(info.value)).group(1))
    assert hint == largest_stateful_batch(cfg, seqs)
    data = prepare_data(cfg.replace(batch_size=hint), seqs, rescale=False)
    assert data.train_streams is not None and data.train_streams.batch_size == hint
    # Nothing larger works: the hint is the largest batch size every training sequence can hold.
    with pytest.raises(VaeViewerError):
        prepare_data(cfg.replace(batch_size=hint + 1), seqs, rescale=False)
