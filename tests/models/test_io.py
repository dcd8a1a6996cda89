"""Save/load: atomic writes, identical outputs after a round trip, unsafe or broken files refused."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

from vaeviewer.errors import VaeViewerError
from vaeviewer.models import build_vae, load_model, reset_states, save_model
from vaeviewer.models.precision import policy_scope

from .conftest import TINY, sample_batch

# Keras' own saving code trips NumPy 2's __array__(copy=...) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize(
    "variant, window, stateful, policy",
    [
        ("conv2d", 1, False, "float32"),
        ("conv3d", 4, False, "float32"),
        ("convlstm", 3, False, "float32"),
        ("convlstm", 3, True, "float32"),
        ("conv3d", 2, False, "mixed_bfloat16"),
    ],
)
def test_round_trip_gives_identical_outputs(tmp_path, variant, window, stateful, policy):
    with policy_scope(policy):
        model = build_vae(variant, (13, 17), window=window, stateful=stateful,
                          batch_size=2 if stateful else None, seed=4, **TINY)
    x = sample_batch(variant, (13, 17), window, batch=2)
    model.train_on_batch(x)  # non-trivial weights and optimizer state
    model.kl_weight.assign(0.25)
    reset_states(model)
    path = tmp_path / "model.keras"
    save_model(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temp files left

    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.spec == model.spec
    assert loaded.dtype_policy.name == policy
    assert float(loaded.kl_weight.numpy()) == 0.25
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
    if stateful:  # the state moves on identically too
        np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
    logs = loaded.train_on_batch(x, return_dict=True)  # compiled and trainable again
    assert np.isfinite(logs["loss"])


def test_save_overwrites_atomically_and_checks_extension(tmp_path):
    model = build_vae("conv2d", (8, 8), seed=0, **TINY)
    path = tmp_path / "sub" / "m.keras"
    save_model(model, path)
    save_model(model, path)  # replacing an existing file
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.keras"]
    with pytest.raises(VaeViewerError, match="end in .keras"):
        save_model(model, tmp_path / "m.h5")


def test_saved_model_gets_the_mode_of_a_plain_file(tmp_path):
    # The temp file behind the atomic save is private (0600); the saved model must not be.
    from vaeviewer.atomic import atomic_write_text
    model = build_vae("conv2d", (8, 8), seed=0, **TINY)
    old = os.umask(0o022)
    try:
        save_model(model, tmp_path / "best.keras")
        save_model(model, tmp_path / "best.keras")  # and when replacing one
        atomic_write_text(tmp_path / "config.json", "{}")
        os.umask(0o027)
        save_model(model, tmp_path / "last.keras")
    finally:
        os.umask(old)
    mode = lambda name: (tmp_path / name).stat().st_mode & 0o777  # noqa: E731
    assert mode("best.keras") == 0o644 == mode("config.json")
    assert mode("last.keras") == 0o640


def _lambda_model_file(path):
    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    keras.Model(inp, out).save(path)


def test_lambda_layer_is_refused(tmp_path):
    path = tmp_path / "evil.keras"
    _lambda_model_file(path)
    with pytest.raises(VaeViewerError) as info:
        load_model(path)
    assert "evil.keras" in str(info.value) and "Lambda" in str(info.value)


def _rewrite_config(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(item, data)


def test_lambda_hidden_inside_a_vae_is_refused(tmp_path):
    model = build_vae("conv2d", (8, 8), seed=0, **TINY)
    good = tmp_path / "good.keras"
    save_model(model, good)

    def inject(config):
        layers = config["config"]["decoder"]["config"]["layers"]
        layers[-1]["class_name"] = "Lambda"
        return config

    bad = tmp_path / "bad.keras"
    _rewrite_config(good, bad, inject)
    with pytest.raises(VaeViewerError, match="bad.keras.*Lambda"):
        load_model(bad)


def test_foreign_class_is_refused(tmp_path):
    model = build_vae("conv2d", (8, 8), seed=0, **TINY)
    good = tmp_path / "good.keras"
    save_model(model, good)

    def inject_into(kind):
        def inject(config):
            layers = config["config"]["encoder"]["config"]["layers"]
            # A stock Keras layer (module keras...) or one of ours (registered vaeviewer>...).
            layer = next(l for l in layers if str(l.get("module", "")).startswith("keras") == (kind == "keras")
                         and l["class_name"] != "InputLayer")
            layer["module"] = "os"
            layer["class_name"] = "system"
            return config
        return inject

    for kind in ("keras", "vaeviewer"):
        bad = tmp_path / f"foreign_{kind}.keras"
        _rewrite_config(good, bad, inject_into(kind))
        with pytest.raises(VaeViewerError, match=f"foreign_{kind}.keras.*neither Keras nor vaeviewer"):
            load_model(bad)


def test_missing_corrupt_truncated_and_foreign_files(tmp_path):
    with pytest.raises(VaeViewerError, match="no such model file"):
        load_model(tmp_path / "nope.keras")
    junk = tmp_path / "junk.keras"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(VaeViewerError, match="junk.keras"):
        load_model(junk)
    model = build_vae("conv2d", (8, 8), seed=0, **TINY)
    good = tmp_path / "good.keras"
    save_model(model, good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(VaeViewerError, match="truncated.keras"):
        load_model(truncated)
    plain = tmp_path / "plain.keras"
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Dense(2)(inp)).save(plain)
    with pytest.raises(VaeViewerError, match="not a vaeviewer VAE"):
        load_model(plain)
