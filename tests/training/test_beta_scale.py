"""beta_scale 'data': the KL weight follows the data's variance, so low-contrast data still learns."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession


def _train_frames(session: TrainingSession) -> np.ndarray:
    frames = np.concatenate([np.asarray(s.frames, np.float32) for s in session.data.train])
    return frames / 255.0 if frames.max() > 1.5 else frames


@pytest.mark.parametrize("scale", ["data", "none"])
def test_kl_weight_is_beta_times_the_data_variance(scale):
    got = []
    session = TrainingSession(tiny_config(epochs=1, beta=2.0, beta_scale=scale), got.append)
    summary = session.run()
    frames = _train_frames(session)
    variance = float(np.mean((frames - frames.mean(axis=0)) ** 2))
    expected = 2.0 * variance if scale == "data" else 2.0
    assert 0 < variance < 0.5
    assert summary["effective_beta"] == pytest.approx(expected, rel=1e-4)
    said = [e.text for e in got if isinstance(e, ev.Message) and "KL weight" in e.text]
    assert len(said) == 1   # said at the start either way, with the weight used
    assert f"{expected:.4g}" in said[0] and ("variance" in said[0]) == (scale == "data")
    assert session.model.beta == pytest.approx(expected, rel=1e-4)
    # the validation loss is made with the weight the model trains with
    epoch = [e for e in got if isinstance(e, ev.EpochEnd)][-1]
    v = epoch.valid
    assert v["loss"] == pytest.approx(v["reconstruction"] + expected * float(session.model.kl_weight.numpy()) * v["kl"],
                                      rel=1e-4)


def test_settings_files_from_before_beta_scale_keep_their_meaning():
    written = RunConfig(beta=0.1).to_dict()
    del written["beta_scale"]                                   # as vaeviewer wrote them before
    old = RunConfig.from_dict(written)
    assert old.beta_scale == "none" and old.beta == 0.1
    assert RunConfig.from_dict({"beta": 2.0, "epochs": 3}).beta_scale == "data"   # written by hand
    assert RunConfig.from_dict({"epochs": 3}).beta_scale == "data"
    new = RunConfig(beta=2.0)
    assert RunConfig.from_json(new.to_json()).beta_scale == "data"


def test_bad_beta_scale_is_refused():
    with pytest.raises(VaeViewerError, match="beta_scale"):
        RunConfig(beta_scale="pixels").validate()


def _low_contrast_clip(path, n=240, h=16, w=20, seed=0):
    """A grey background with a faint (3 grey levels in 100) blob wandering over it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy = np.cumsum(rng.normal(0, 0.7, n)) % h
    cx = np.cumsum(rng.normal(0, 0.7, n)) % w
    blob = np.exp(-((yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2) / 8.0)
    frames = 0.5 + 0.03 * blob + 0.002 * rng.standard_normal((n, h, w))
    np.save(path, frames.astype(np.float32))
    return path


def test_low_contrast_data_uses_its_latent_only_with_the_data_scale(tmp_path):
    """With a fixed KL weight the KL outweighs the tiny reconstruction gains: the latent empties."""
    clip = _low_contrast_clip(tmp_path / "faint.npy")
    result = {}
    for scale in ("data", "none"):
        cfg = tiny_config(demo=False, paths=[str(clip)], frame_size=None, epochs=4, steps_per_epoch=50,
                          beta=4.0, beta_scale=scale, kl_warmup_epochs=0, learning_rate=3e-3, dropout=0.0, seed=3)
        got = []
        summary = TrainingSession(cfg, got.append).run()
        last = [e for e in got if isinstance(e, ev.EpochEnd)][-1]
        result[scale] = (last.valid["kl"], last.valid["mse"], summary["mean_frame_mse"], last.verdict.kind)
    kl, mse, mean_mse, kind = result["none"]
    assert kl < 0.01 and kind == "mean_frame", result           # collapsed: nothing in the latent
    kl, mse, mean_mse, kind = result["data"]
    assert kl > 1.0 and mse < 0.97 * mean_mse and kind != "mean_frame", result
