"""The strips' display ranges as plain numbers: contrast limits, the 1-2-5 ladder, the frames' layout."""

import numpy as np
import pytest

from vaeviewer.gui.frame_strips import contrast_limits, contrast_text, nice_ceil, side_by_side
from vaeviewer.gui.strip_levels import decimals_for, error_top


def test_contrast_limits_reads_few_values_and_scales_uint8():
    frames = (np.arange(20 * 64 * 64) % 256).astype(np.uint8).reshape(20, 64, 64)
    lo, hi, vmin, vmax = contrast_limits([frames], max_samples=10_000)
    assert 0 <= lo < 0.02 and 0.98 < hi <= 1.0 and vmin == 0.0 and vmax == 1.0
    assert contrast_limits(np.full((3, 4, 4), 0.2, np.float32))[:2] == (pytest.approx(0.2), pytest.approx(1.2))
    assert [nice_ceil(v) for v in (0.0031, 0.001, 0.0011, 0.6)] == pytest.approx([0.005, 0.001, 0.002, 1.0])


def test_error_top_follows_the_finite_errors_up_the_ladder():
    error = np.full((4, 8, 8), 0.0031, np.float32)
    assert error_top(error) == pytest.approx(0.005)
    error[0, 0, 0] = np.nan
    assert error_top(error) == pytest.approx(0.005)          # a NaN does not move the range
    assert error_top(np.full(3, np.nan)) is None
    assert error_top(np.zeros(5)) == pytest.approx(1e-6)     # no error: the smallest range, not zero


def test_contrast_text_and_decimals():
    assert contrast_text(0.0431, 0.957) == "display contrast 0.0431 … 0.957 (auto, 0.5–99.5th percentile)"
    assert contrast_text(0.1, 0.2, how="set by hand").endswith("(set by hand)")
    assert decimals_for(1.0) == 3 and decimals_for(0.0003) == 6 and decimals_for(1e-12) == 8


def test_side_by_side_leaves_gaps_between_frames():
    frames = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    out = side_by_side(frames, gap=2)
    assert out.shape == (3, 10) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert np.array_equal(out[:, :4], frames[0]) and np.array_equal(out[:, 6:], frames[1])
    assert not out[:, 4:6].any()
