"""The conv3d encoder heads: 'pool' averages the time steps left before the dense layer, 'flatten'
(every run before the setting) feeds them all; old run directories keep their flatten model."""

import json

import numpy as np
import pytest

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.models import build_vae, encode, reconstruct
from vaeviewer.models.conv3d import time_grid
from vaeviewer.models.precision import PRECISION_TO_POLICY, policy_scope

from .conftest import TINY, sample_batch

HEADS = ("pool", "flatten")


def _inner_kernel_rows(model) -> int:
    return int(model.encoder.get_layer("inner").kernel.shape[0])


@pytest.mark.parametrize("window", [1, 3, 5, 10, 20])
@pytest.mark.parametrize("frame_shape", [(16, 20), (13, 9)])
def test_both_heads_reconstruct_the_input_shape(window, frame_shape):
    x = sample_batch("conv3d", frame_shape, window)
    rows = {}
    for head in HEADS:
        model = build_vae("conv3d", frame_shape, window=window, seed=0, conv3d_head=head, **TINY)
        assert model.spec["conv3d_head"] == head
        out = model.predict_on_batch(x)
        assert out.shape == x.shape and np.isfinite(out).all()
        assert reconstruct(model, x).shape == x.shape
        assert encode(model, x).shape == (2, TINY["latent_dim"])
        rows[head] = _inner_kernel_rows(model)
    # The pooled head's dense layer reads one time step of features instead of gt of them.
    assert rows["flatten"] == rows["pool"] * time_grid(window, len(TINY["filters"]))


def test_the_default_model_at_window_10_loses_most_of_its_weights():
    counts = {head: build_vae("conv3d", (64, 80), window=10, conv3d_head=head, filters=(32, 64), inner_dim=128,
                              latent_dim=6).count_params() for head in HEADS}
    # 5 x 16 x 20 x 64 features x 128 units (13.1M) become 16 x 20 x 64 x 128 (2.6M).
    assert counts["flatten"] - counts["pool"] == (5 - 1) * 16 * 20 * 64 * 128
    assert counts["pool"] < 0.3 * counts["flatten"]


def test_with_one_time_step_left_both_heads_are_the_same_model():
    a, b = (build_vae("conv3d", (16, 20), window=4, seed=0, conv3d_head=h, **TINY) for h in HEADS)
    assert a.count_params() == b.count_params()
    b.set_weights(a.get_weights())
    x = sample_batch("conv3d", (16, 20), 4)
    np.testing.assert_allclose(reconstruct(a, x), reconstruct(b, x), atol=1e-6)


def test_a_bad_head_is_refused():
    with pytest.raises(VaeViewerError, match="conv3d_head"):
        build_vae("conv3d", (16, 20), window=4, conv3d_head="mean", **TINY)
    with pytest.raises(VaeViewerError, match="setting conv3d_head"):
        RunConfig(demo=True, variant="conv3d", conv3d_head="mean").validate()


@pytest.mark.parametrize("window", [5, 7, 20])
@pytest.mark.parametrize("precision", sorted(PRECISION_TO_POLICY))
@pytest.mark.parametrize("head", HEADS)
def test_both_heads_train_without_nan_under_every_precision(precision, head, window):
    # The window models once turned NaN at step 3 under the default precision (bfloat16).
    rng = np.random.default_rng(0)
    with policy_scope(PRECISION_TO_POLICY[precision]):
        model = build_vae("conv3d", (16, 20), window=window, seed=0, conv3d_head=head, **TINY)
    for _ in range(3):
        logs = model.train_on_batch(rng.random((4, window, 16, 20, 1), dtype=np.float32), return_dict=True)
    where = f"{head} {precision} T={window}"
    assert all(np.isfinite(v) for v in logs.values()), where
    assert all(np.isfinite(w).all() for w in model.get_weights()), where


# ---- run directories written before the head was a setting -----------------------------------

def test_a_written_config_without_the_head_means_flatten_for_conv3d_only():
    written = RunConfig(demo=True, variant="conv3d").to_dict()
    del written["conv3d_head"]
    assert RunConfig.from_dict(written).conv3d_head == "flatten"
    # Other variants have no such head: they read as a new config would.
    other = RunConfig(demo=True, variant="conv2d").to_dict()
    del other["conv3d_head"]
    assert RunConfig.from_dict(other).conv3d_head == RunConfig().conv3d_head
    # A hand-written file (not every setting listed) gets the default, as a new run.
    assert RunConfig.from_dict({"demo": True, "variant": "conv3d"}).conv3d_head == RunConfig().conv3d_head
    assert RunConfig().conv3d_head in HEADS


def _old_run(out, tiny_config):
    """A conv3d run as vaeviewer wrote it before the head was a setting: a flatten model whose
    spec has no conv3d_head, and a config.json without the field."""
    from vaeviewer.models.io import save_model
    from vaeviewer.training.session import TrainingSession

    TrainingSession(tiny_config(out=str(out), epochs=1, variant="conv3d", window=5, stride=2,
                                conv3d_head="flatten")).run()
    for name in ("best.keras", "last.keras"):
        from vaeviewer.models.io import load_model

        model = load_model(out / name)
        del model.spec["conv3d_head"]
        save_model(model, out / name)
    config = json.loads((out / "config.json").read_text())
    del config["conv3d_head"]
    (out / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    from tests.conftest import tiny_config

    out = tmp_path_factory.mktemp("runs") / "old"
    _old_run(out, tiny_config)
    return out


def test_an_old_conv3d_run_opens_with_its_flatten_head(old_run):
    import vaeviewer
    from vaeviewer.data.demo import demo_sequences

    run = vaeviewer.open_run(old_run)
    assert run.config.conv3d_head == "flatten"
    # 16x20 frames, filters (4, 8), T=5 (odd: no time stride): 5 x 4 x 5 x 8 features reach the
    # dense layer, 5 times what the pooled head would read.
    assert _inner_kernel_rows(run.model) == 5 * 4 * 5 * 8
    frames = demo_sequences(1, 30, (16, 20), seed=3)[0].frames
    assert np.isfinite(run.frame_errors(frames)).all()


def test_an_old_conv3d_run_resumes_with_its_flatten_head(old_run, tmp_path):
    import shutil

    from vaeviewer.training.rundir import RunDirectory
    from vaeviewer.training.session import TrainingSession

    out = tmp_path / "old"
    shutil.copytree(old_run, out)
    # Resume as `train --resume` does: the stored settings, with more epochs.
    stored = RunDirectory(out).read_config()
    assert stored.conv3d_head == "flatten"
    TrainingSession(stored.replace(epochs=2, out=str(out)), resume=True).run()
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    again = RunConfig.load(out / "config.json")
    assert again.conv3d_head == "flatten"


def test_an_old_flatten_model_with_time_steps_left_reopens_as_flatten(tmp_path):
    # gt > 1 (T = 5: no time stride), where the heads differ in shape: the stored spec without a
    # head must adopt 'flatten', and a rebuild from that config must accept the stored weights.
    from vaeviewer.config import adopt_model_spec
    from vaeviewer.models.builders import build_from_config
    from vaeviewer.models.io import load_model, save_model

    old = build_vae("conv3d", (16, 20), window=5, seed=0, conv3d_head="flatten", **TINY)
    del old.spec["conv3d_head"]
    save_model(old, tmp_path / "best.keras")
    loaded = load_model(tmp_path / "best.keras")
    assert "conv3d_head" not in loaded.spec
    cfg = adopt_model_spec(RunConfig(demo=True, variant="conv3d", window=5, stride=1), loaded.spec)
    assert cfg.conv3d_head == "flatten"
    rebuilt = build_from_config(cfg.replace(precision="float32"), (16, 20))
    rebuilt.set_weights(loaded.get_weights())
    x = sample_batch("conv3d", (16, 20), 5)
    np.testing.assert_allclose(reconstruct(rebuilt, x), reconstruct(loaded, x), atol=1e-5)
