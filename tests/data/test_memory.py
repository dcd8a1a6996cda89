"""The issue's target: windows + one epoch of batches add at most 20% to the frames' memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vaeviewer.benchmarks.data import bench_windows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS measured via /proc and ru_maxrss")
def test_windowing_40000_frames_adds_at_most_20_percent():
    r = bench_windows(n_frames=40000, window=10, stride=1, batch_size=64)
    assert r["frame_bytes"] == 40000 * 64 * 80
    assert r["windows"] == 39991 and r["batches"] == 625  # one full epoch
    assert r["ratio"] <= 0.20, r
    assert r["batches_per_s"] > 20, r  # ~500/s alone; far above any model's training rate


def test_data_layer_imports_no_qt_and_no_keras():
    code = (
        "import sys\n"
        "import vaeviewer.data.sources, vaeviewer.data.windows, vaeviewer.data.demo, vaeviewer.data.inspect\n"
        "import vaeviewer.benchmarks.data\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'pyqtgraph', 'keras', 'tensorflow')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
