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


TINY = ["--demo", "--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
        "--batch-size", "8", "--precision", "float32", "--steps-per-epoch", "2"]


def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_resume_keeps_what_the_user_said(tmp_path):
    run = tmp_path / "R"
    r = vaeviewer("train", *TINY, "--epochs", "1", "--out", run)
    assert r.returncode == 0, r.stderr
    # Text mode says the KL weight used, and counts in words that agree.
    assert "KL weight" in r.stderr and "finished 1 epoch." in r.stderr
    assert json.loads((run / "history.jsonl").read_text().splitlines()[0])["epoch"] == 1

    r = vaeviewer("train", "--resume", run, "--epochs", "2", "--lr", "0.002", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["epochs"] == 2 and result["kept_epoch"] in (1, 2) and "val_kl" in result
    stored = json.loads((run / "config.json").read_text())
    assert stored["epochs"] == 2 and stored["learning_rate"] == 0.002

    one_line_error(vaeviewer("train", "--resume", run), "already has 2 epochs; pass --epochs N")
    one_line_error(vaeviewer("train", "--resume", run, "--epochs", "3", "--variant", "conv3d"),
                   "cannot change on resume", "variant 'conv3d'")
    assert json.loads((run / "config.json").read_text())["epochs"] == 2, "a refused resume writes nothing"


def test_config_file_flags_override_and_never_write_into_an_existing_run(tmp_path):
    held = tmp_path / "held"
    held.mkdir()
    (held / "config.json").write_text(tiny_config(epochs=1).to_json())   # a run is there already
    before = {p.name: p.read_bytes() for p in held.iterdir()}
    f = tmp_path / "cfg.json"
    f.write_text(tiny_config(epochs=1, out=str(held)).to_json())

    one_line_error(vaeviewer("train", "--config", f), "already holds a run", "--out")
    other = tmp_path / "other"
    r = vaeviewer("train", "--config", f, "--variant", "conv3d", "--stride", "2", "--out", other, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["variant"] == "conv3d" and result["out"] == str(other)
    stored = json.loads((other / "config.json").read_text())
    assert stored["variant"] == "conv3d" and stored["stride"] == 2 and stored["epochs"] == 1
    assert {p.name: p.read_bytes() for p in held.iterdir()} == before


def test_a_usage_mistake_names_the_command_once():
    r = vaeviewer("train", "--no-such-flag")
    one_line_error(r, "--no-such-flag", "(see vaeviewer --help)")
    assert "vaeviewer vaeviewer" not in r.stderr
    one_line_error(vaeviewer("inspect", "--window", "x"), "(see vaeviewer inspect --help)")
