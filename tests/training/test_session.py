"""The training session on tiny real models and real demo data: events, loops, controls, faults."""

import json
import math
import threading

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession


def run_collect(cfg, **kwargs):
    got = []
    session = TrainingSession(cfg, got.append, **kwargs)
    summary = session.run()
    return session, summary, got


def of_type(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize(
    "changes",
    [
        dict(variant="conv2d"),
        dict(variant="conv3d", window=4, stride=2),
        dict(variant="convlstm", window=4, stride=1),
        dict(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2),
    ],
    ids=["conv2d", "conv3d", "convlstm", "convlstm-stateful"],
)
def test_each_variant_trains_and_reports(changes):
    cfg = tiny_config(**changes)
    session, summary, got = run_collect(cfg)
    started = of_type(got, ev.RunStarted)
    assert len(started) == 1 and started[0].frame_shape == (16, 20)
    assert isinstance(got[-1], ev.RunFinished) and got[-1].reason == "completed"
    batches = of_type(got, ev.BatchEnd)
    assert len(batches) == cfg.epochs * started[0].steps_per_epoch
    assert all(math.isfinite(b.loss) and b.samples_per_s > 0 for b in batches)
    epochs = of_type(got, ev.EpochEnd)
    assert [e.epoch for e in epochs] == [0, 1]
    assert set(epochs[-1].valid) >= {"loss", "reconstruction", "kl", "mse"}
    base = of_type(got, ev.Baselines)[0]
    assert 0 < base.pca_mse <= base.mean_frame_mse
    snaps = [s for s in of_type(got, ev.Snapshot) if s.latents is not None]
    assert snaps, "an epoch-end snapshot carries latents and the error timeline"
    snap = snaps[-1]
    assert snap.inputs.shape == snap.reconstruction.shape == (cfg.window, 16, 20)
    assert snap.frame_error.shape == (cfg.window,)
    assert snap.latents.shape[1] == cfg.latent_dim
    assert len(snap.latent_sequence) == len(snap.latent_frame) == len(snap.latents)
    assert len(snap.timeline_error) == len(snap.timeline_frame) == len(snap.timeline_sequence)
    # The timeline names each validation frame once.
    pairs = set(zip(snap.timeline_sequence.tolist(), snap.timeline_frame.tolist()))
    assert len(pairs) == len(snap.timeline_error)
    assert summary["variant"] == cfg.variant and summary["epochs"] == 2
    for key in ("train_loss", "val_loss", "val_mse", "pca_mse", "mean_frame_mse", "samples_per_s", "seconds"):
        assert summary[key] is not None and math.isfinite(summary[key]), key
    if cfg.variant == "conv2d" or cfg.stateful:
        # val_mse from the session equals the mean of its own per-frame timeline.
        assert summary["val_mse"] == pytest.approx(float(snap.timeline_error.mean()), rel=1e-5)
    else:
        # The timeline averages overlapping windows; val_mse stays on the non-overlapping ones.
        from vaeviewer.data import windows as win
        from vaeviewer.models import inference

        index = session.data.valid_index
        x = win.gather(session.data.valid, index, np.arange(len(index)), cfg.model_window)
        mse = float(np.mean((x - inference.reconstruct(session.model, x)) ** 2))
        assert summary["val_mse"] == pytest.approx(mse, rel=1e-4)


def test_stateful_walk_resets_at_each_sequence(monkeypatch):
    from vaeviewer.models import inference

    resets = []
    real = inference.reset_states
    monkeypatch.setattr(inference, "reset_states", lambda m: (resets.append(1), real(m)))
    cfg = tiny_config(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2, epochs=1, steps_per_epoch=None)
    session, _, got = run_collect(cfg)
    plan = session.data.train_streams
    # one reset before each group of streams, at least, during training
    assert len(resets) >= len(plan.groups)


def test_run_directory_and_resume(tmp_path):
    out = tmp_path / "run"
    cfg = tiny_config(out=str(out), epochs=1, tensorboard=True)
    run_collect(cfg)
    assert {"config.json", "history.jsonl", "last.keras", "best.keras", "tensorboard"} <= {p.name for p in out.iterdir()}
    assert any((out / "tensorboard").iterdir()), "TensorBoard event file written"
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["epoch"] == 1     # epochs count from 1, as on the console
    session, summary, _ = run_collect(tiny_config(out=str(out), epochs=3), resume=True)
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[2]["global_step"] == 3 * rows[0]["global_step"]
    assert summary["epochs"] == 3
    # config.json now says what the run is: 3 epochs, not the 1 it started with.
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


def test_resume_with_nothing_left_to_train_says_so(tmp_path):
    out = tmp_path / "run"
    run_collect(tiny_config(out=str(out), epochs=1))
    got = []
    with pytest.raises(VaeViewerError, match=r"already has 1 epoch; pass --epochs N"):
        TrainingSession(tiny_config(out=str(out), epochs=1), got.append, resume=True).run()
    assert not of_type(got, ev.EpochEnd)


@pytest.mark.parametrize("changes, words", [
    (dict(variant="conv3d", stride=4), "variant 'conv3d' (the run has 'conv2d')"),
    (dict(frame_size=(20, 20)), "frame_size"),
    (dict(latent_dim=3), "latent_dim 3"),
    (dict(precision="bfloat16"), "precision"),
])
def test_resume_refuses_settings_the_stored_run_fixes(tmp_path, changes, words):
    out = tmp_path / "run"
    run_collect(tiny_config(out=str(out), epochs=1))
    with pytest.raises(VaeViewerError, match="cannot change on resume") as info:
        TrainingSession(tiny_config(out=str(out), epochs=2, **changes), resume=True).run()
    assert words in str(info.value)
    assert json.loads((out / "config.json").read_text())["epochs"] == 1, "a refused resume writes nothing"


def test_resume_applies_a_new_learning_rate_and_steps(tmp_path):
    out = tmp_path / "run"
    run_collect(tiny_config(out=str(out), epochs=1))
    session, summary, _ = run_collect(tiny_config(out=str(out), epochs=2, learning_rate=0.0123, steps_per_epoch=5),
                                      resume=True)
    assert float(session.model.optimizer.learning_rate.numpy()) == pytest.approx(0.0123)
    rows = session.history
    assert rows[1]["global_step"] - rows[0]["global_step"] == 5
    stored = json.loads((out / "config.json").read_text())
    assert stored["learning_rate"] == 0.0123 and stored["steps_per_epoch"] == 5 and stored["epochs"] == 2


def test_resume_reads_an_old_history_counted_from_0(tmp_path):
    out = tmp_path / "run"
    run_collect(tiny_config(out=str(out), epochs=2))
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    (out / "history.jsonl").write_text("".join(json.dumps({**r, "epoch": r["epoch"] - 1}) + "\n" for r in rows))
    session, summary, _ = run_collect(tiny_config(out=str(out), epochs=3), resume=True)
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]


def test_stop_and_pause_from_another_thread():
    cfg = tiny_config(epochs=50, steps_per_epoch=20, snapshot_interval_s=10.0)
    got = []
    paused_at = {}
    session = TrainingSession(cfg, got.append)
    result = {}
    thread = threading.Thread(target=lambda: result.update(session.run()))
    thread.start()
    # wait for training to be under way
    for _ in range(600):
        if of_type(got, ev.BatchEnd):
            break
        threading.Event().wait(0.05)
    session.pause()
    threading.Event().wait(0.3)  # the batch in flight finishes
    paused_at["n"] = len(of_type(got, ev.BatchEnd))
    threading.Event().wait(0.5)
    assert len(of_type(got, ev.BatchEnd)) == paused_at["n"], "no batch runs while paused"
    assert session.paused
    session.resume()
    for _ in range(200):
        if len(of_type(got, ev.BatchEnd)) > paused_at["n"]:
            break
        threading.Event().wait(0.05)
    assert len(of_type(got, ev.BatchEnd)) > paused_at["n"], "training goes on after resume"
    session.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert got[-1].reason == "stopped"
    assert len(of_type(got, ev.BatchEnd)) < 50 * 20


def test_nan_loss_stops_and_keeps_last_good_weights(tmp_path):
    cfg = tiny_config(epochs=3, out=str(tmp_path / "run"))
    got = []
    state = {}

    def listener(event):
        got.append(event)
        if isinstance(event, ev.EpochEnd) and event.epoch == 0:
            # Fault injection: from now on a training step reports a NaN loss.
            model = session.model
            state["good"] = [w.copy() for w in model.get_weights()]
            real = model.train_on_batch

            def poisoned(x, **kw):
                logs = real(x, **kw)
                return {**logs, "loss": float("nan")}

            model.train_on_batch = poisoned

    session = TrainingSession(cfg, listener)
    summary = session.run()
    assert got[-1].reason == "diverged" and "NaN" in got[-1].message
    assert "set back to the end of epoch 1" in got[-1].message and "last.keras" in got[-1].message
    assert summary["epochs"] == 1
    for a, b in zip(session.model.get_weights(), state["good"]):
        np.testing.assert_array_equal(a, b)
    from vaeviewer.models.io import load_model

    assert load_model(tmp_path / "run" / "last.keras") is not None


def test_bad_settings_raise_user_errors():
    with pytest.raises(VaeViewerError, match="stateful"):
        TrainingSession(tiny_config(variant="conv2d", stateful=True)).run()
    with pytest.raises(VaeViewerError, match="window"):
        TrainingSession(tiny_config(variant="conv3d", window=500, stride=1)).run()


def test_inspect_after_run_gives_requested_window():
    cfg = tiny_config(variant="conv3d", window=4, stride=4, epochs=1)
    session, _, _ = run_collect(cfg)
    snap = session.inspect("train", 1, 7)
    assert (snap.split, snap.sequence, snap.start) == ("train", 1, 7)
    frames = session.data.train[1].frames[7:11].astype(np.float32) / 255
    np.testing.assert_allclose(snap.inputs, frames, atol=1e-6)


def test_load_checkpoint_for_inspection(tmp_path):
    cfg = tiny_config(variant="conv3d", window=4, stride=4, epochs=1, out=str(tmp_path / "run"))
    trained, _, _ = run_collect(cfg)
    got = []
    fresh = TrainingSession(cfg.replace(out=None), got.append)
    fresh.load_checkpoint(tmp_path / "run" / "last.keras")
    x = trained.data.valid[0].frames[:4].astype(np.float32)[None, ..., None] / 255
    np.testing.assert_allclose(fresh.model.predict_on_batch(x), trained.model.predict_on_batch(x), atol=1e-5)
    snaps = of_type(got, ev.Snapshot)
    assert snaps and snaps[-1].latents is not None
    # A session that never prepared data takes the checkpoint's architecture...
    adopted = TrainingSession(cfg.replace(variant="conv2d", window=6, stride=1, out=None))
    adopted.load_checkpoint(tmp_path / "run" / "last.keras")
    assert (adopted.config.variant, adopted.config.window) == ("conv3d", 4)
    # ...one whose data is laid out for other settings refuses it, naming what it is.
    other = TrainingSession(cfg.replace(variant="conv2d", out=None))
    other.data = other._prepare_data(other.config)
    with pytest.raises(VaeViewerError, match="conv3d"):
        other.load_checkpoint(tmp_path / "run" / "last.keras")


def test_run_ends_with_the_weights_of_the_best_validation_epoch():
    # A learning rate high enough that validation loss does not fall every epoch.
    cfg = tiny_config(epochs=4, kl_warmup_epochs=0, learning_rate=0.05)
    session, summary, got = run_collect(cfg)
    losses = [h["val_loss"] for h in session.history]
    best = int(np.argmin(losses))
    assert summary["kept_epoch"] == best + 1 == session.history[best]["epoch"]   # 1-based, as the console
    assert summary["val_loss"] == losses[best] and summary["last_val_loss"] == losses[-1]
    now = session._validate()[0]["loss"]
    assert now == pytest.approx(losses[best], rel=1e-4)
    if best != len(losses) - 1:
        assert f"kept the weights of epoch {best + 1} " in got[-1].message


def test_training_batches_are_all_full_so_the_step_never_retraces():
    # 120 training frames, batch 16: a pass ends with 8 left over, and 12 steps cross two passes.
    cfg = tiny_config(batch_size=16, epochs=1, steps_per_epoch=12)
    sizes = []

    def listener(event):
        if isinstance(event, ev.RunStarted):
            real = session.model.train_on_batch
            session.model.train_on_batch = lambda x, **kw: (sizes.append(len(x)), real(x, **kw))[1]

    session = TrainingSession(cfg, listener)
    session.run()
    assert sum(len(s) for s in session.data.train) % 16 != 0
    assert sizes == [16] * 12


def test_model_starts_from_the_training_frames_statistics():
    from vaeviewer.data.windows import frames_to_float

    session = TrainingSession(tiny_config(epochs=1, steps_per_epoch=1), lambda e: None)
    session.run()
    frames = np.concatenate([frames_to_float(s.frames) for s in session.data.train])
    mean = frames.mean(axis=0)
    spread = np.sqrt(np.mean((frames - mean) ** 2))
    norm = session.model.encoder.get_layer("frame_norm")
    np.testing.assert_allclose(np.asarray(norm.mean)[..., 0], mean, atol=1e-5)
    assert float(norm.scale.numpy()) == pytest.approx(1.0 / spread, rel=1e-4)


def test_what_a_resume_may_change():
    from vaeviewer.training.rundir import fixed_on_resume

    stored = tiny_config()
    assert fixed_on_resume(stored, stored.replace(epochs=9, learning_rate=0.01, batch_size=4, steps_per_epoch=7)) == []
    assert set(fixed_on_resume(stored, stored.replace(variant="conv3d", beta=1.0))) == {"variant", "beta"}
    stateful = tiny_config(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2)
    assert fixed_on_resume(stateful, stateful.replace(batch_size=4)) == ["batch_size"]   # fixed in the model's Input
