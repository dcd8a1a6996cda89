"""The bad-input corpus through the library and the command line (inspect for all, train for some).

Every malformed input gives one VaeViewerError naming the file (library), or exit status 2 with
exactly one line on stderr and no traceback (CLI). Valid-but-odd inputs load as documented.
The GUI half is in test_corpus_gui.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.clirun import TINY_TRAIN, assert_user_error, vaeviewer
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


@pytest.mark.parametrize("name", [item.name for item in BAD])
def test_cli_inspect_is_one_line_and_exit_2(make, name):
    path = make(name)
    assert_user_error(vaeviewer("inspect", path, timeout=120), path.name)


@pytest.mark.parametrize("name", [item.name for item in ODD])
def test_cli_inspect_accepts_valid_but_odd_inputs(make, name):
    r = vaeviewer("inspect", make(name), "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


# train: slower (it imports the session); a handful, one per reader
TRAIN_SAMPLE = ["npy_pickle", "npz_truncated", "folder_mixed_sizes", "tiff_zero_pages", "gif_truncated", "mp4_garbage",
                "npy_huge_declared"]


@pytest.mark.parametrize("name", TRAIN_SAMPLE)
def test_cli_train_is_one_line_and_exit_2(make, tmp_path, name):
    path = make(name)
    r = vaeviewer("train", path, "--epochs", "1", *TINY_TRAIN, "--out", tmp_path / "run", timeout=200)
    assert_user_error(r, path.name)
    assert not (tmp_path / "run" / "last.keras").exists()


def test_cli_train_on_one_frame_says_the_window_is_too_long(make):
    """One frame loads (documented), but no window fits: a clear error, not a crash."""
    path = make("npy_one_frame")
    r = vaeviewer("train", path, "--epochs", "1", *TINY_TRAIN, timeout=200)
    assert_user_error(r, "window")
