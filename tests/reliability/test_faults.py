"""Faults during training, through the real TrainingSession on tiny models.

For each fault the run ends with a RunFinished that says what happened, the thread that ran it
is joined (no helper thread left either), and last.keras from the last completed epoch still
loads with vaeviewer.models.io.load_model.
"""

from __future__ import annotations

import errno
import os
import threading

import pytest

from tests.conftest import tiny_config
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession


def run_in_thread(session: TrainingSession, timeout: float = 120.0) -> dict:
    """Run like the GUI does (a worker thread); return {'summary'| 'error': ...} once joined."""
    result: dict = {}

    def target():
        try:
            result["summary"] = session.run()
        except BaseException as exc:  # the GUI's worker catches everything the same way
            result["error"] = exc

    thread = threading.Thread(target=target, name="test-session")
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the training thread did not end"
    assert not session.running
    leftovers = [t for t in threading.enumerate() if t.name == "vaeviewer-batches" and t.is_alive()]
    assert not leftovers, f"batch prefetch threads left behind: {leftovers}"
    return result


def finished(events) -> ev.RunFinished:
    done = [e for e in events if isinstance(e, ev.RunFinished)]
    assert len(done) == 1, f"expected exactly one RunFinished, got {done}"
    assert events[-1] is done[0], "RunFinished is the last event"
    return done[0]


def assert_checkpoint_loads(run_dir, epochs: int):
    from vaeviewer.models.io import load_model

    model = load_model(run_dir / "last.keras")
    assert model is not None
    rows = (run_dir / "history.jsonl").read_text().splitlines()
    assert len(rows) == epochs, rows
    assert not [p.name for p in run_dir.iterdir() if ".tmp" in p.name], "temporary files left behind"


def test_exception_inside_a_training_step(tmp_path):
    run_dir = tmp_path / "run"
    got = []

    def listener(event):
        got.append(event)
        if isinstance(event, ev.EpochEnd) and event.epoch == 0:
            real = session.model.train_on_batch
            calls = {"n": 0}

            def faulty(x, **kw):
                calls["n"] += 1
                if calls["n"] == 2:
                    raise RuntimeError("injected fault in train step")
                return real(x, **kw)

            session.model.train_on_batch = faulty

    session = TrainingSession(tiny_config(epochs=3, out=str(run_dir)), listener)
    result = run_in_thread(session)
    assert isinstance(result.get("error"), RuntimeError)  # re-raised for the caller (GUI: 'internal error')
    done = finished(got)
    assert done.reason == "error"
    assert "RuntimeError" in done.message and "injected fault" in done.message
    assert_checkpoint_loads(run_dir, epochs=1)


@pytest.mark.parametrize("when", ["model", "history"])
def test_disk_full_during_a_checkpoint(tmp_path, monkeypatch, when):
    """os.replace fails with ENOSPC during epoch 2's save: the epoch-1 files stay intact."""
    run_dir = tmp_path / "run"
    real_replace = os.replace
    state = {"armed": False}

    def full_disk(src, dst, *a, **kw):
        target = os.fspath(dst)
        hit = target.endswith(".keras") if when == "model" else target.endswith("history.jsonl")
        if state["armed"] and hit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", full_disk)
    got = []

    def listener(event):
        got.append(event)
        if isinstance(event, ev.EpochEnd) and event.epoch == 1:
            state["armed"] = True

    session = TrainingSession(tiny_config(epochs=3, out=str(run_dir)), listener)
    result = run_in_thread(session)
    assert isinstance(result.get("error"), VaeViewerError)
    done = finished(got)
    assert done.reason == "error"
    assert "No space left on device" in done.message and str(run_dir) in done.message
    monkeypatch.setattr(os, "replace", real_replace)
    # last.keras is epoch 1's (or epoch 2's when only the history failed); both load
    assert_checkpoint_loads(run_dir, epochs=1)


def test_run_directory_replaced_by_a_file_mid_run(tmp_path):
    """The output folder disappears (a file takes its place): a clear error, no crash."""
    import shutil

    run_dir = tmp_path / "run"
    got = []

    def listener(event):
        got.append(event)
        if isinstance(event, ev.EpochEnd) and event.epoch == 0 and run_dir.is_dir():
            shutil.rmtree(run_dir)
            run_dir.write_text("not a folder")

    session = TrainingSession(tiny_config(epochs=2, out=str(run_dir)), listener)
    result = run_in_thread(session)
    assert isinstance(result.get("error"), VaeViewerError)
    done = finished(got)
    assert done.reason == "error" and str(run_dir) in done.message
    assert "Traceback" not in done.message


def test_stop_pressed_during_validation(tmp_path, monkeypatch):
    from vaeviewer.models import inference

    run_dir = tmp_path / "run"
    got = []
    state = {"validating": False, "stopped_in_validation": False}
    session = TrainingSession(tiny_config(epochs=3, out=str(run_dir)), got.append)
    real_validate, real_forward = session._validate, inference.forward

    def validate(*a, **kw):
        state["validating"] = True
        try:
            return real_validate(*a, **kw)
        finally:
            state["validating"] = False

    def forward(model, x):
        # the user presses Stop while the second epoch's validation is running
        if state["validating"] and len([e for e in got if isinstance(e, ev.EpochEnd)]) == 1:
            session.stop()
            state["stopped_in_validation"] = True
        return real_forward(model, x)

    session._validate = validate
    monkeypatch.setattr(inference, "forward", forward)
    result = run_in_thread(session)
    assert state["stopped_in_validation"]
    assert "error" not in result, result.get("error")
    done = finished(got)
    assert done.reason == "stopped" and "stopped after 1 epoch" in done.message
    assert result["summary"]["epochs"] == 1
    assert_checkpoint_loads(run_dir, epochs=1)


def test_stop_pressed_during_a_checkpoint_write(tmp_path, monkeypatch):
    """Stop while last.keras is being written: the write completes atomically, then the run stops."""
    from vaeviewer.models import io as model_io

    run_dir = tmp_path / "run"
    got = []
    real_save = model_io.save_model
    seen = {"n": 0}

    def save_and_press_stop(model, path):
        seen["n"] += 1
        if seen["n"] == 2:  # epoch 2's last.keras
            session.stop()
        return real_save(model, path)

    monkeypatch.setattr(model_io, "save_model", save_and_press_stop)
    session = TrainingSession(tiny_config(epochs=5, out=str(run_dir)), got.append)
    result = run_in_thread(session)
    assert "error" not in result, result.get("error")
    done = finished(got)
    assert done.reason == "stopped"
    epochs = result["summary"]["epochs"]
    assert epochs in (1, 2) and f"stopped after {epochs} epoch" in done.message
    assert_checkpoint_loads(run_dir, epochs=epochs)


def test_an_interrupted_checkpoint_write_keeps_the_previous_file(tiny_run, monkeypatch):
    """Ctrl-C (or a kill) in the middle of model.save: the old last.keras is untouched."""
    from vaeviewer.models.io import load_model, save_model

    # A finished tiny run with its run directory (tests/conftest.py, shared: its last.keras must stay intact).
    target = tiny_run.out / "last.keras"
    before = target.read_bytes()
    model = tiny_run.session.model

    def interrupted(path, *a, **kw):
        with open(path, "wb") as fh:
            fh.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, target)
    assert target.read_bytes() == before
    assert not [p.name for p in target.parent.iterdir() if ".tmp" in p.name]
    assert load_model(target) is not None


def run_with_bad_losses(cfg, loss: float) -> tuple[dict, list]:
    """Run `cfg` with every training step reporting `loss` (NaN or inf) from the first one."""
    got = []

    def listener(event):
        got.append(event)
        if isinstance(event, ev.RunStarted):
            real = session.model.train_on_batch
            session.model.train_on_batch = lambda x, **kw: {**real(x, **kw), "loss": loss}

    session = TrainingSession(cfg, listener)
    return run_in_thread(session), got


def test_nan_in_the_first_step_leaves_no_checkpoint_and_says_so(tmp_path):
    run_dir = tmp_path / "run"
    result, got = run_with_bad_losses(tiny_config(epochs=2, out=str(run_dir)), float("inf"))
    assert "error" not in result
    done = finished(got)
    assert done.reason == "diverged" and "epoch 1, step 1" in done.message and "learning rate" in done.message
    assert not (run_dir / "last.keras").exists()
    # It must not claim to have kept what it did not save.
    assert "no weights were saved" in done.message and "kept" not in done.message


def test_divergence_under_mixed_precision_suggests_float32(tmp_path):
    _result, got = run_with_bad_losses(tiny_config(epochs=1, precision="bfloat16"), float("nan"))
    done = finished(got)
    assert done.reason == "diverged" and "mixed_bfloat16" in done.message
    assert "--precision float32" in done.message
