"""Bad settings from RunConfig, a config JSON file and CLI flags: refused, saying what would work.

tests/test_config.py and tests/test_cli.py cover the basic ranges; this file adds wrong types,
the remaining knobs, JSON quirks, and combinations that only fail once the data is known.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import tiny_config
from tests.reliability.clirun import TINY_TRAIN, assert_user_error, vaeviewer_batch
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError

# (changes, the setting named, a hint of what would work)
BAD_SETTINGS = [
    (dict(seed=-1), "seed", "0"),
    (dict(seed=2**32), "seed", "0"),
    (dict(seed="abc"), "seed", "whole number"),
    (dict(seed=1.5), "seed", "whole number"),
    (dict(demo="yes"), "demo", "true or false"),
    (dict(tensorboard="no"), "tensorboard", "true or false"),
    (dict(stateful="false", variant="convlstm", stride=10), "stateful", "true or false"),
    (dict(out=5), "out", "folder"),
    (dict(steps_per_epoch=True), "steps_per_epoch", "whole number"),
    (dict(steps_per_epoch=-2), "steps_per_epoch", "whole number"),
    (dict(frame_size=(64, 80, 3)), "frame", "64x80"),
    (dict(frame_size=(3, 80)), "frame size", "between 4 and 4096"),
    (dict(snapshot_interval_s=-1.0), "snapshot_interval_s", "from 0"),
    (dict(snapshot_interval_s=math.inf), "snapshot_interval_s", "from 0"),
    (dict(max_scatter_points=5), "max_scatter_points", "from 10"),
    (dict(demo_frames=1), "demo_frames", "from 2"),
    (dict(demo_sequences=0), "demo_sequences", "from 1"),
    (dict(filters=(4, 4, 4, 4, 4, 4, 4)), "filters", "at most 6"),
    (dict(filters=(0, 8)), "filters", "e.g. 32,64"),
    (dict(filters=(8.0, 16.0)), "filters", "whole numbers"),
    (dict(beta=-0.5), "beta", "from 0"),
    (dict(learning_rate=math.inf), "learning_rate", "from 1e-08"),
    (dict(valid_fraction=-0.1), "valid_fraction", "from 0"),
    (dict(valid_fraction=math.nan), "valid_fraction", "from 0"),
    (dict(split="random"), "split", "time, sequence"),
    (dict(loss="l1"), "loss", "mse, bce"),
    (dict(inner_dim=0), "inner_dim", "from 1"),
    (dict(batch_size=10**6), "batch_size", "to 65536"),
    (dict(window=1001, variant="conv3d"), "window", "to 1000"),
    (dict(kl_warmup_epochs=True), "kl_warmup_epochs", "whole number"),
    (dict(variant="convlstm", stateful=True, window=4, stride=2), "stride", "must equal window"),
    (dict(demo=True, paths=["frames.npy"]), "demo", "not both"),
]


@pytest.mark.parametrize("changes, setting, hint", BAD_SETTINGS, ids=[f"{s}-{i}" for i, (_, s, _) in enumerate(BAD_SETTINGS)])
def test_run_config_refuses_and_says_what_would_work(changes, setting, hint):
    cfg = tiny_config().replace(**changes)
    with pytest.raises(VaeViewerError) as info:
        cfg.validate()
    msg = str(info.value)
    assert setting in msg, msg
    assert hint.lower() in msg.lower(), f"{hint!r} not in {msg!r}"


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"demo": true, "frame_size": [1e400, 5]}', "frame_size"),
        ('{"demo": true, "frame_size": [64.5, 80]}', "frame_size"),
        ('{"demo": true, "frame_size": "64x80x3"}', "frame size"),
        ('{"demo": true, "filters": 32}', "filters"),
        ('{"demo": true, "filters": "32,64"}', "filters"),
        ('{"demo": true, "paths": "movie.mp4"}', "paths"),
        ('{"demo": true, "seed": "abc"}', "seed"),
        ('{"demo": true, "out": 5}', "out"),
        ('{"demo": true, "window": null}', "window"),
        ('{"demo": true, "windw": 3}', "windw"),
        ('{"demo": true, "window": 4, "window": "x"}', "window"),
        ("null", "JSON object"),
        ('"conv2d"', "JSON object"),
        ("{'demo': True}", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_config_json_is_refused_with_a_clear_message(tmp_path, text, words):
    f = tmp_path / "settings.json"
    f.write_text(text)
    with pytest.raises(VaeViewerError) as info:
        RunConfig.load(f).validate()
    assert words in str(info.value), str(info.value)


def test_config_file_that_is_not_text(tmp_path):
    f = tmp_path / "settings.json"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(VaeViewerError, match="settings.json"):
        RunConfig.load(f)


def test_config_file_that_is_a_folder(tmp_path):
    with pytest.raises(VaeViewerError, match="cannot read"):
        RunConfig.load(tmp_path)


def test_json_round_trip_keeps_refusing_what_validate_refuses():
    """A config that validates survives JSON; a bad one does not become good on the way."""
    bad = tiny_config(window=0)
    with pytest.raises(VaeViewerError, match="window"):
        RunConfig.from_json(bad.to_json()).validate()
    good = tiny_config(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2)
    assert RunConfig.from_json(good.to_json()).validate() == good


# ---- combinations that only fail once the data is known (session, before TensorFlow) --------


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(variant="conv3d", window=30, stride=1, split="time"), ("window", "lower the window", "--split sequence")),
        (dict(variant="convlstm", window=4, stride=4, stateful=True, batch_size=64), ("batch size",)),
        (dict(frame_size=(8, 8)), ("demo frame size", "12")),
        (dict(demo_frames=3, window=4), ("window",)),
        (dict(demo=False, paths=["/no/such/movie.mp4"]), ("/no/such/movie.mp4", "no such file")),
    ],
)
def test_impossible_combinations_fail_before_training(changes, words):
    from vaeviewer.training import events as ev
    from vaeviewer.training.session import TrainingSession

    got = []
    with pytest.raises(VaeViewerError) as info:
        TrainingSession(tiny_config(**changes), got.append).run()
    for word in words:
        assert word.lower() in str(info.value).lower(), str(info.value)
    assert isinstance(got[-1], ev.RunFinished) and got[-1].reason == "error"
    assert not any(isinstance(e, ev.BatchEnd) for e in got)


# ---- the same through the command line: exit 2, one line ---------------------------------------
# Every call runs in one process (clirun.vaeviewer_batch), each with its own exit status and stderr.

FLAG_CASES = [
    (["train", "--demo", "--seed", "-1"], "seed"),
    (["train", "--demo", "--seed", "99999999999"], "seed"),
    (["train", "--demo", "--filters", "4,x"], "filters"),
    (["train", "--demo", "--filters", ""], "filters"),
    (["train", "--demo", "--frame-size", "0x5"], "frame size"),
    (["train", "--demo", "--steps-per-epoch", "-1"], "steps_per_epoch"),
    (["train", "--demo", "--epochs", "0"], "epochs"),
    (["train", "--demo", "--batch-size", "0"], "batch_size"),
    (["train", "--demo", "--beta", "nan"], "beta"),
    (["train", "--demo", "--valid-fraction", "0.9"], "valid_fraction"),
    (["train", "--demo", "--split", "random"], "invalid choice"),
    (["train", "--demo", "--epochs", "two"], "invalid int value"),
    (["train", "--demo", "--variant", "conv3d", "--window", "4", "--stride", "8"], "stride"),
    (["inspect", "--demo", "--window", "0"], "window"),
    (["inspect", "--demo", "--stride", "-2", "--window", "3"], "stride"),
    (["inspect"], "--demo"),
    (["train", "--resume", "/etc/hostname"], "/etc/hostname"),
]
CONFIG_CASES = [
    (b'{"demo": true, "window": -1}', "window"),
    (b'{"demo": true, "seed": "x"}', "seed"),
    (b'{"demo": true, "frame_size": [1e400, 5]}', "frame_size"),
    (b"\x00\xffbinary", "c.json"),
    (b'{"demo": true, "windw": 3}', "windw"),
]


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """{key: (a file the call uses, the CLI's result)} for every command line below."""
    root = tmp_path_factory.mktemp("settings-cli")
    keys, files, calls = [], [], []
    for args, _ in FLAG_CASES:
        keys.append(("flags", tuple(args)))
        files.append(None)
        calls.append(args)
    for i, (content, _) in enumerate(CONFIG_CASES):
        f = root / f"config{i}" / "c.json"
        f.parent.mkdir()
        f.write_bytes(content)
        keys.append(("config", content))
        files.append(f)
        calls.append(["train", "--config", f])
    taken = root / "taken"
    taken.write_text("x")
    keys.append(("out-is-a-file",))
    files.append(taken)
    calls.append(["train", "--demo", "--epochs", "1", *TINY_TRAIN, "--out", taken])
    return {key: (f, r) for key, f, r in zip(keys, files, vaeviewer_batch(calls, timeout=600))}


@pytest.mark.parametrize("args, words", FLAG_CASES)
def test_cli_flags_refused_on_one_line(cli, args, words):
    assert_user_error(cli["flags", tuple(args)][1], words)


@pytest.mark.parametrize("content, words", CONFIG_CASES)
def test_cli_config_file_refused_on_one_line(cli, content, words):
    assert_user_error(cli["config", content][1], words)


def test_cli_out_that_is_a_file_is_refused(cli):
    f, r = cli["out-is-a-file",]
    assert_user_error(r, str(f))
    assert f.read_text() == "x"
