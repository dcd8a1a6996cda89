"""The command line, run as a user runs it: a real subprocess, real files."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import tiny_config

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "QT_QPA_PLATFORM": "offscreen"}


def vaeviewer(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "vaeviewer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def test_train_json_from_flags(tmp_path):
    out = tmp_path / "run"
    r = vaeviewer("train", "--demo", "--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
                  "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--precision", "float32",
                  "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    for key in ("variant", "epochs", "train_loss", "val_loss", "val_mse", "pca_mse", "mean_frame_mse", "samples_per_s", "seconds", "out"):
        assert key in result, key
    assert result["epochs"] == 1 and result["out"] == str(out)
    assert (out / "last.keras").is_file()


@pytest.mark.parametrize("variant, extra", [("conv3d", []), ("convlstm", ["--stateful", "--batch-size", "2"])])
def test_train_windowed_variants_from_a_config_file(tmp_path, variant, extra):
    cfg = tiny_config(variant=variant, window=4, stride=4 if extra else 2, stateful=bool(extra),
                      batch_size=2 if extra else 8, epochs=1)
    f = tmp_path / "c.json"
    f.write_text(cfg.to_json())
    r = vaeviewer("train", "--config", f, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["variant"] == variant and result["stateful"] == bool(extra)


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--demo", "--variant", "conv2d", "--stateful"], "stateful"),
        (["train", "--demo", "--variant", "convlstm", "--stateful", "--window", "5", "--stride", "1"], "stride"),
        (["train", "--demo", "--variant", "conv3d", "--window", "5000"], "window"),
        (["train", "--demo", "--window", "0"], "window"),
        (["train", "--demo", "--lr", "-1"], "learning_rate"),
        (["train", "--demo", "--frame-size", "big"], "frame size"),
        (["train", "--variant", "nope"], "invalid choice"),
        (["train", "/no/such/file.npy"], "/no/such/file.npy"),
        (["inspect", "/no/such/folder"], "/no/such/folder"),
        (["train", "--resume", "/no/such/run"], "/no/such/run"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, words):
    r = vaeviewer(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert words in lines[0]


def test_inspect_json_on_an_array(tmp_path):
    import numpy as np

    f = tmp_path / "a.npy"
    np.save(f, np.zeros((30, 12, 14), np.uint8))
    r = vaeviewer("inspect", f, "--window", "10", "--stride", "5", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["sequences"] == 1 and info["frames"] == 30 and info["frame_shape"] == [12, 14]
    assert info["windows"] == 5
