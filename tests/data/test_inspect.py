"""describe(): the JSON summary behind `vaeviewer inspect`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaeviewer.data.inspect import describe
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
    assert "windows" not in info and info["dtype"] == "uint8" and info["value_range"] == [0.0, 0.0]
    empty = describe([])
    assert empty["sequences"] == 0 and empty["frame_shape"] is None and empty["value_range"] is None
    with pytest.raises(VaeViewerError, match="stride 0"):
        describe([Sequence("a", np.zeros((3, 2, 2), np.uint8))], window=2, stride=0)
