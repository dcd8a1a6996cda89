"""The command line, run as a user runs it: real files, and real processes where the process matters.

test_train_json_from_flags runs `python -m vaeviewer.cli` in a subprocess of its own (the entry
point, end to end). The refusals run as real command lines too, all in one process
(tests/reliability/clirun.vaeviewer_batch: each call with its own exit status and stderr). The
other tiny training runs call vaeviewer.cli.main in this process (clirun.run_main: exit status,
stdout and stderr as a subprocess gives them), where a subprocess would add only a TensorFlow import.
"""

import json

import pytest

from tests.conftest import tiny_config
from tests.reliability.clirun import run_main, vaeviewer, vaeviewer_batch


def test_train_json_from_flags(tmp_path):
    """The one real subprocess training run: `python -m vaeviewer.cli` with --json."""
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
    r = run_main("train", "--config", f, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["variant"] == variant and result["stateful"] == bool(extra)


BAD_INPUT = [
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
]
USAGE_MISTAKES = [["train", "--no-such-flag"], ["inspect", "--window", "x"]]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The results of this file's short command lines, all run in one process: {tuple(args): result}.

    The inspect case reads an array saved under the returned "array" key.
    """
    import numpy as np

    f = tmp_path_factory.mktemp("cli") / "a.npy"
    np.save(f, np.zeros((30, 12, 14), np.uint8))
    inspect = ["inspect", str(f), "--window", "10", "--stride", "5", "--json"]
    calls = [args for args, _ in BAD_INPUT] + USAGE_MISTAKES + [inspect]
    results = {tuple(args): r for args, r in zip(calls, vaeviewer_batch(calls, timeout=600))}
    results["array"] = tuple(inspect)
    return results


@pytest.mark.parametrize("args, words", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_2(batch, args, words):
    r = batch[tuple(args)]
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert words in lines[0]


def test_inspect_json_on_an_array(batch):
    r = batch[batch["array"]]
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
    r = run_main("train", *TINY, "--epochs", "1", "--out", run)
    assert r.returncode == 0, r.stderr
    # Text mode says the KL weight used, and counts in words that agree.
    assert "KL weight" in r.stderr and "finished 1 epoch." in r.stderr
    assert json.loads((run / "history.jsonl").read_text().splitlines()[0])["epoch"] == 1

    # A new run never overwrites a finished one: one line, exit 2, the old run's files untouched.
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    one_line_error(run_main("train", *TINY, "--epochs", "2", "--out", run),
                   f"{run} already holds a run (config.json); continue it with --resume {run}, or pick another --out")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before

    r = run_main("train", "--resume", run, "--epochs", "2", "--lr", "0.002", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["epochs"] == 2 and result["kept_epoch"] in (1, 2) and "val_kl" in result
    stored = json.loads((run / "config.json").read_text())
    assert stored["epochs"] == 2 and stored["learning_rate"] == 0.002

    one_line_error(run_main("train", "--resume", run), "already has 2 epochs; pass --epochs N")
    one_line_error(run_main("train", "--resume", run, "--epochs", "3", "--variant", "conv3d"),
                   "cannot change on resume", "variant 'conv3d'")
    assert json.loads((run / "config.json").read_text())["epochs"] == 2, "a refused resume writes nothing"


def test_config_file_flags_override_and_never_write_into_an_existing_run(tmp_path):
    held = tmp_path / "held"
    held.mkdir()
    (held / "config.json").write_text(tiny_config(epochs=1).to_json())   # a run is there already
    before = {p.name: p.read_bytes() for p in held.iterdir()}
    f = tmp_path / "cfg.json"
    f.write_text(tiny_config(epochs=1, out=str(held)).to_json())

    one_line_error(run_main("train", "--config", f), "already holds a run", "--out")
    # Naming that folder with --out is refused too, before anything trains.
    one_line_error(run_main("train", "--config", f, "--out", held), f"{held} already holds a run (config.json)",
                   f"--resume {held}")
    assert {p.name: p.read_bytes() for p in held.iterdir()} == before
    other = tmp_path / "other"
    other.mkdir()   # an empty folder is no run: training into it is fine
    r = run_main("train", "--config", f, "--variant", "conv3d", "--stride", "2", "--out", other, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["variant"] == "conv3d" and result["out"] == str(other)
    stored = json.loads((other / "config.json").read_text())
    assert stored["variant"] == "conv3d" and stored["stride"] == 2 and stored["epochs"] == 1
    assert {p.name: p.read_bytes() for p in held.iterdir()} == before


def test_a_usage_mistake_names_the_command_once(batch):
    r = batch[tuple(USAGE_MISTAKES[0])]
    one_line_error(r, "--no-such-flag", "(see vaeviewer --help)")
    assert "vaeviewer vaeviewer" not in r.stderr
    one_line_error(batch[tuple(USAGE_MISTAKES[1])], "(see vaeviewer inspect --help)")
