"""`--split auto` (the default): by time when it fits every sequence well, else by whole sequences."""

import json

import numpy as np
import pytest

from tests.conftest import tiny_config
from tests.data.test_windows import tagged
from vaeviewer.config import RunConfig
from vaeviewer.data.windows import choose_split, split_sequences
from vaeviewer.errors import VaeViewerError
from vaeviewer.training.prepare import prepare_data


@pytest.mark.parametrize("lengths, fraction, window, expected", [
    ([1500] * 4, 0.2, 10, "time"),        # the demo data: 300 validation frames each
    ([20] * 64, 0.2, 10, "sequence"),     # Moving MNIST: 4 validation frames, under a window
    ([100] * 4, 0.1, 10, "sequence"),     # 10 validation frames: one window of 10, too few
    ([200] * 4, 0.1, 10, "time"),         # 20: two windows
    ([80] * 2, 0.25, 4, "time"),          # 20 >= max(2 * 4, 10)
    ([40] * 2, 0.2, 4, "sequence"),       # 8 < 10 frames
    ([30], 0.2, 4, "time"),               # one sequence: only a time split is possible
    ([1000, 30], 0.2, 4, "sequence"),     # one short sequence decides
    ([20] * 3, 0.0, 10, "time"),          # no validation: nothing to choose
])
def test_choose_split(lengths, fraction, window, expected):
    assert choose_split(tagged(lengths), fraction, window) == expected


def test_auto_split_matches_the_split_it_chooses():
    seqs = tagged([20] * 10)
    train, valid = split_sequences(seqs, 0.2, "auto", min_frames=10)
    assert [s.name for s in valid] == ["s8", "s9"] and len(train) == 8 and all(len(s) == 20 for s in valid)
    train, valid = split_sequences(tagged([100]), 0.2, "auto", min_frames=10)
    assert len(train[0]) == 80 and len(valid[0]) == 20


def test_a_too_short_validation_part_names_the_sequence_split():
    with pytest.raises(VaeViewerError, match=r"validation part of s0 has 4 frames, fewer than the window 10; "
                                             r"lower the window or raise --valid-fraction; or split by whole "
                                             r"sequences \(--split sequence\)"):
        split_sequences(tagged([20, 20]), 0.2, "time", min_frames=10)
    # auto with one short sequence: no sequence split possible, the time split's error (no hint to it)
    with pytest.raises(VaeViewerError, match=r"validation part of s0 has 4 frames") as info:
        split_sequences(tagged([20]), 0.2, "auto", min_frames=10)
    assert "--split sequence" not in str(info.value)


def test_prepare_data_records_and_states_the_split():
    notes = []
    seqs = tagged([8] * 16, h=16, w=20)
    data = prepare_data(tiny_config(demo=False, paths=["x"], valid_fraction=0.2), seqs, note=notes.append)
    assert data.split == "sequence" and len(data.valid) == 4
    assert any(n.startswith("split: by whole sequences, 12 for training and 4 for validation (auto: by time, "
                            "the validation part of s0 would have 2 frames, fewer than 10") for n in notes)
    notes.clear()
    data = prepare_data(tiny_config(demo=False, paths=["x"]), tagged([80, 80], h=16, w=20), note=notes.append)
    assert data.split == "time"
    assert any(n.startswith("split: by time, the last 25% of each sequence for validation (40 frames in all) "
                            "(auto; --split sequence") for n in notes)
    data = prepare_data(tiny_config(demo=False, paths=["x"], split="time", valid_fraction=0.0),
                        tagged([80, 80], h=16, w=20))
    assert data.split == "none" and not data.valid


def test_the_default_is_auto_and_old_settings_files_keep_time(tmp_path):
    assert RunConfig().split == "auto"
    RunConfig(demo=True).validate()
    full = RunConfig(demo=True, split="time").to_dict()
    assert RunConfig.from_dict(full).split == "time"          # a file listing every setting keeps its split
    del full["split"]
    assert RunConfig.from_dict(full).split == "time"          # written before the setting existed
    assert RunConfig.from_dict({"demo": True}).split == "auto"
    with pytest.raises(VaeViewerError, match="auto, time, sequence"):
        RunConfig(demo=True, split="random").validate()
    # stateful runs take any split, auto included
    tiny_config(variant="convlstm", window=4, stride=4, stateful=True).validate()


def test_run_summary_names_the_split_used(tiny_run):
    summary = tiny_run.summary   # a finished default tiny run (tests/conftest.py), shared with other files
    assert summary["split"] == "time" and summary["stateful_layout"] is None
    assert json.loads(json.dumps(summary))["split"] == "time"
    assert np.isfinite(summary["val_mse"])
