"""The bad-input corpus through the library and the command line (inspect for all, train for some).

Every malformed input gives one VaeViewerError naming the file (library), or exit status 2 with
exactly one line on stderr and no traceback (CLI). Valid-but-odd inputs load as documented.
The GUI half is in test_corpus_gui.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.clirun import TINY_TRAIN, assert_user_error, vaeviewer_batch
from tests.reliability.corpus import BAD, BY_NAME, ODD
from vaeviewer.data.sources import load_sequences
from vaeviewer.errors import VaeViewerError

FORMATS = {"npy", "npz", "folder", "png", "tiff", "gif", "mp4"}


def test_the_corpus_is_large_and_covers_every_format():
    assert len(BAD) >= 25
    covered = {item.name.split("_")[0] for item in BAD}
    assert FORMATS <= covered, FORMATS - covered


@pytest.fixture
def make(tmp_path):
    def build(name):
        return BY_NAME[name].make(tmp_path)

    return build


@pytest.mark.parametrize("name", [item.name for item in BAD])
def test_library_refuses_with_a_message_naming_the_file(make, name):
    path = make(name)
    with pytest.raises(VaeViewerError) as info:
        load_sequences([path])
    msg = str(info.value)
    assert path.name in msg, msg
    assert "\n" not in msg, msg
    for word in BY_NAME[name].words:
        assert word.lower() in msg.lower(), f"{word!r} not in {msg!r}"


@pytest.mark.parametrize("name", [item.name for item in ODD])
def test_library_loads_valid_but_odd_inputs_as_documented(make, name):
    sequences = load_sequences([make(name)])
    BY_NAME[name].check(sequences)
    for s in sequences:
        assert s.frames.flags.c_contiguous and s.frames.dtype in (np.uint8, np.float32)


def test_a_bad_file_among_good_ones_is_named(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((5, 8, 8), np.uint8))
    bad = BY_NAME["npy_truncated"].make(tmp_path)
    with pytest.raises(VaeViewerError, match="cut.npy"):
        load_sequences([good, bad, good])


# ---- the command line: every call below runs in one process (clirun.vaeviewer_batch) -------------

# train: a handful, one per reader
TRAIN_SAMPLE = ["npy_pickle", "npz_truncated", "folder_mixed_sizes", "tiff_zero_pages", "gif_truncated", "mp4_garbage",
                "npy_huge_declared"]


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """{(command, item name): (the input's path, its folder, the CLI's result)} for every call below."""
    root = tmp_path_factory.mktemp("corpus-cli")
    keys, calls, where = [], [], []

    def add(command, name, args):
        folder = root / command / name
        folder.mkdir(parents=True)
        path = BY_NAME[name].make(folder)
        keys.append((command, name))
        where.append((path, folder))
        calls.append(args(path, folder))

    for item in BAD:
        add("inspect", item.name, lambda path, _: ["inspect", path])
    for item in ODD:
        add("inspect-odd", item.name, lambda path, _: ["inspect", path, "--json"])
    for name in TRAIN_SAMPLE:
        add("train", name, lambda path, folder: ["train", path, "--epochs", "1", *TINY_TRAIN, "--out", folder / "run"])
    add("train-one-frame", "npy_one_frame", lambda path, _: ["train", path, "--epochs", "1", *TINY_TRAIN])
    results = vaeviewer_batch(calls, timeout=600)
    return {key: (*at, r) for key, at, r in zip(keys, where, results)}


@pytest.mark.parametrize("name", [item.name for item in BAD])
def test_cli_inspect_is_one_line_and_exit_2(cli, name):
    path, _, r = cli["inspect", name]
    assert_user_error(r, path.name)


@pytest.mark.parametrize("name", [item.name for item in ODD])
def test_cli_inspect_accepts_valid_but_odd_inputs(cli, name):
    _, _, r = cli["inspect-odd", name]
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", TRAIN_SAMPLE)
def test_cli_train_is_one_line_and_exit_2(cli, name):
    path, folder, r = cli["train", name]
    assert_user_error(r, path.name)
    assert not (folder / "run" / "last.keras").exists()


def test_cli_train_on_one_frame_says_the_window_is_too_long(cli):
    """One frame loads (documented), but no window fits: a clear error, not a crash."""
    _, _, r = cli["train-one-frame", "npy_one_frame"]
    assert_user_error(r, "window")
