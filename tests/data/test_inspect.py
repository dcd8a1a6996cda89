"""describe(): the JSON summary behind `vaeviewer inspect`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaeviewer.data.inspect import describe, describe_text
from vaeviewer.data.sources import Sequence
from vaeviewer.errors import VaeViewerError


def test_describe_counts_and_range():
    a = Sequence("a", np.full((30, 4, 5), 51, np.uint8))
    a.frames[3, 0, 0] = 204
    b = Sequence("b", np.full((8, 4, 5), 0.5, np.float32), 1)
    info = describe([a, b], window=10, stride=5)
    assert json.loads(json.dumps(info)) == info
    assert info["sequences"] == 2 and info["frames"] == 38 and info["frames_per_sequence"] == [30, 8]
    assert info["frame_shape"] == [4, 5] and info["names"] == ["a", "b"]
    assert info["dtype"] == "float32,uint8"
    assert info["value_range"] == pytest.approx([0.2, 0.8])
    assert info["windows"] == 5 and info["too_short"] == ["b"]  # starts 0, 5, 10, 15, 20
    assert info["memory_bytes"] == 30 * 20 + 8 * 20 * 4


def test_describe_without_window_and_empty():
    info = describe([Sequence("a", np.zeros((3, 2, 2), np.uint8))])
    assert info["dtype"] == "uint8" and info["value_range"] == [0.0, 0.0]
    # Without a window the window keys are there, as null: one shape for every --json answer.
    assert {k: info[k] for k in ("window", "stride", "windows", "too_short")} == dict.fromkeys(
        ("window", "stride", "windows", "too_short"))
    empty = describe([])
    assert empty["sequences"] == 0 and empty["frame_shape"] is None and empty["value_range"] is None
    with pytest.raises(VaeViewerError, match="stride 0"):
        describe([Sequence("a", np.zeros((3, 2, 2), np.uint8))], window=2, stride=0)


def test_text_says_which_sequences_are_too_short():
    info = describe([Sequence("short", np.zeros((120, 4, 5), np.uint8)), Sequence("long", np.zeros((200, 4, 5), np.uint8))],
                    window=150, stride=1)
    text = "\n".join(describe_text(info))
    assert "51 windows" in text
    assert "short is shorter than 150 frames and yields none" in text
    assert "short: 120 frames, shorter than the window of 150: no windows" in text
    assert "long: 200 frames\n" in text + "\n"


def test_inspect_says_what_was_done_to_a_16_bit_and_a_colour_source(tmp_path):
    import tifffile

    from vaeviewer.data.sources import load_sequences

    tifffile.imwrite(tmp_path / "dim16.tif", np.random.default_rng(0).integers(100, 400, (6, 8, 9)).astype(np.uint16))
    np.save(tmp_path / "rgb.npy", np.zeros((5, 8, 9, 3), np.uint8))
    deep, rgb = load_sequences([tmp_path / "dim16.tif", tmp_path / "rgb.npy"])
    assert deep.frames.dtype == np.float32 and "16-bit" in deep.source and "float32" in deep.source
    assert "dim" in deep.source
    assert "colour" in rgb.source and "converted to gray" in rgb.source
    info = describe([deep, rgb])
    assert info["sources"] == [deep.source, rgb.source]
    text = "\n".join(describe_text(info))
    assert f"dim16: 6 frames ({deep.source})" in text and f"rgb: 5 frames ({rgb.source})" in text
    # One kind of source: said once.
    assert f"source: {deep.source}" in "\n".join(describe_text(describe([deep])))
