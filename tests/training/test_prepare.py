"""Preparing a run's data: the intensity stretch for dim data and the layout check the app uses."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.data.sources import Sequence
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.prepare import check_fits, largest_stateful_batch, prepare_data
from vaeviewer.training.session import TrainingSession


def _dim(n=80, dtype=np.float32, lo=0.0015, hi=0.006, seed=0):
    rng = np.random.default_rng(seed)
    frames = lo + (hi - lo) * rng.random((n, 16, 20))
    if dtype == np.uint8:
        return [Sequence("dim8", np.rint(frames * 255).astype(np.uint8))]
    return [Sequence("dim16", frames.astype(np.float32))]


def test_dim_float_data_is_stretched_to_the_unit_range():
    data = prepare_data(tiny_config(demo=False, paths=["x"]), _dim())
    lo, hi = data.intensity
    assert lo == pytest.approx(0.0015, abs=1e-4) and hi == pytest.approx(0.006, abs=1e-4)
    train = np.concatenate([s.frames for s in data.train])
    assert train.dtype == np.float32 and train.min() == 0.0 and train.max() == pytest.approx(1.0)
    # validation goes through the same map (not its own range)
    valid = np.concatenate([s.frames for s in data.valid])
    assert 0.0 <= valid.min() and valid.max() <= 1.0


def test_intensity_none_and_wide_data_are_left_as_loaded():
    seqs = _dim()
    data = prepare_data(tiny_config(demo=False, paths=["x"], intensity="none"), seqs)
    assert data.intensity is None and data.train[0].frames.max() < 0.01
    wide = [Sequence("wide", np.linspace(0, 1, 80 * 320, dtype=np.float32).reshape(80, 16, 20))]
    assert prepare_data(tiny_config(demo=False, paths=["x"]), wide).intensity is None


def test_dim_uint8_data_stays_uint8():
    data = prepare_data(tiny_config(demo=False, paths=["x"]), _dim(dtype=np.uint8, lo=0.1, hi=0.3))
    assert data.intensity is not None and data.train[0].frames.dtype == np.uint8
    assert data.train[0].frames.max() == 255 and data.train[0].frames.min() == 0


def test_the_run_says_what_it_did_to_dim_data():
    got = []
    session = TrainingSession(tiny_config(demo=False, paths=["x"], epochs=1), got.append, sequences=_dim())
    summary = session.run()
    started = next(e for e in got if isinstance(e, ev.RunStarted))
    assert started.intensity is not None and summary["intensity_range"] == list(started.intensity)
    assert any(isinstance(e, ev.Message) and e.text.startswith("intensity:") for e in got)


def test_stateful_layout_check_and_the_batch_that_fits():
    seqs = _dim(n=40)
    cfg = tiny_config(demo=False, paths=["x"], variant="convlstm", window=4, stride=4, stateful=True, batch_size=64)
    with pytest.raises(VaeViewerError, match="batch size of at most 7"):
        check_fits(cfg, seqs)
    assert largest_stateful_batch(cfg, seqs) == 7
    check_fits(cfg.replace(batch_size=7), seqs)


def test_a_run_resumes_from_another_folder(tmp_path, monkeypatch):
    # Data and run directory given relative to where the run started.
    import json

    np.save(tmp_path / "clip.npy", np.random.default_rng(0).random((60, 16, 20)).astype(np.float32))
    monkeypatch.chdir(tmp_path)
    cfg = tiny_config(demo=False, paths=["clip.npy"], epochs=1, out="run")
    TrainingSession(cfg).run()
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["paths"] == [str(tmp_path / "clip.npy")] and stored["out"] == str(tmp_path / "run")
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    from vaeviewer.cli import main

    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--steps-per-epoch", "2"]) == 0
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["epochs"] == 2 and stored["out"] == str(tmp_path / "run")
    assert not any(elsewhere.iterdir())
