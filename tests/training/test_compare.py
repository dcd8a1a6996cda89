"""`training.compare`: planning rows, refusing what cannot train, running, writing the files."""

import csv
import json
import math

import numpy as np
import pytest

from vaeviewer.errors import VaeViewerError
from vaeviewer.training import compare, compare_png, compare_run
from vaeviewer.training.prepare import load_run_sequences


def test_parse_variants_and_windows():
    assert compare.parse_variants(None) == list(compare.ROW_VARIANTS)
    assert compare.parse_variants("conv3d, conv2d,conv3d") == ["conv3d", "conv2d"]
    with pytest.raises(VaeViewerError, match="'conv4d' is not one of"):
        compare.parse_variants("conv2d,conv4d")
    assert compare.parse_windows(None, 10) == [10]
    assert compare.parse_windows("5,10,20", 10) == [5, 10, 20]
    for bad in ("ten", "1", ","):
        with pytest.raises(VaeViewerError, match="--windows"):
            compare.parse_windows(bad, 10)


def test_plan_rows(tiny, tmp_path):
    base = tiny(out=str(tmp_path))
    rows = compare.plan_rows(base, list(compare.ROW_VARIANTS), [3, 4])
    assert [r.name for r in rows] == ["conv2d", "conv3d-w3", "conv3d-w4", "convlstm-w3", "convlstm-w4",
                                      "convlstm-stateful-w3", "convlstm-stateful-w4"]
    by = {r.name: r.config for r in rows}
    assert by["conv2d"].model_window == 1 and not by["conv2d"].stateful
    assert by["convlstm-w4"].variant == "convlstm" and by["convlstm-w4"].stride == 1
    s = by["convlstm-stateful-w3"]
    assert s.variant == "convlstm" and s.stateful and s.stride == s.window == 3
    assert by["conv3d-w3"].out == str(tmp_path / "conv3d-w3")
    # Same data, split and seed for every row.
    assert len({(c.seed, c.split, c.valid_fraction, c.demo_frames) for c in by.values()}) == 1


def test_a_stateful_batch_that_does_not_fit_is_refused_before_training(tiny):
    base = tiny(batch_size=64)
    rows = compare.plan_rows(base, ["conv2d", "convlstm-stateful"], [4])
    with pytest.raises(VaeViewerError, match="compare row convlstm-stateful-w4: .*batch size"):
        compare.check_rows(rows, load_run_sequences(base))


def test_a_stateful_row_takes_the_largest_batch_that_fits_when_the_batch_was_not_chosen(tiny):
    """64 clips of 20 frames (the Moving-MNIST layout) at the default batch of 64: 51 training clips
    cannot fill 64 rows, and 20 frames cannot be cut into 64 streams; the row takes B = 51."""
    from vaeviewer.data.sources import Sequence

    rng = np.random.default_rng(0)
    clips = [Sequence(f"clips[{i}]", (rng.random((20, 16, 20)) * 255).astype(np.uint8)) for i in range(64)]
    base = tiny(batch_size=64, demo=False, paths=["clips.npy"], split="sequence", window=10, valid_fraction=0.2)
    rows = compare.plan_rows(base, ["conv2d", "convlstm-stateful"], [10])
    with pytest.raises(VaeViewerError, match="batch size"):
        compare.check_rows(rows, clips)
    notes = compare.check_rows(rows, clips, fit_stateful_batch=True)
    stateful = next(r for r in rows if r.config.stateful)
    assert stateful.config.batch_size == 51 and next(r for r in rows if not r.config.stateful).config.batch_size == 64
    assert len(notes) == 1 and "batch size 51 instead of 64" in notes[0]


def test_the_widest_window_is_named_when_it_does_not_fit_the_data(tiny):
    from vaeviewer.data.sources import Sequence

    rng = np.random.default_rng(0)
    clips = [Sequence(f"clips[{i}]", (rng.random((16, 16, 20)) * 255).astype(np.uint8)) for i in range(24)]
    base = tiny(demo=False, paths=["clips.npy"])
    rows = compare.plan_rows(base, ["conv3d"], [4, 17])
    split = compare.common_split(rows, clips)
    rows = [compare.PlannedRow(r.name, r.variant, r.config.replace(split=split or r.config.split)) for r in rows]
    with pytest.raises(VaeViewerError, match="compare row conv3d-w17: .*17"):
        compare.check_rows(rows, clips)


def test_run_compare_writes_rows_and_files(tiny, tmp_path):
    base = tiny(epochs=2, steps_per_epoch=2, out=str(tmp_path))
    rows = compare.plan_rows(base, ["conv2d", "conv3d"], [4])
    sequences = load_run_sequences(base)
    compare.check_rows(rows, sequences)
    seen = []
    results = compare.run_compare(rows, sequences, out=tmp_path, on_row=seen.append)
    assert [r.row["variant"] for r in seen] == ["conv2d", "conv3d"]
    data = json.loads((tmp_path / "compare.json").read_text())
    assert [r["variant"] for r in data] == ["conv2d", "conv3d"]
    for row in data:
        for key in ("variant", "window", "stateful", "val_mse", "pca_mse", "window_pca_mse", "val_kl",
                    "samples_per_s", "seconds", "verdict"):
            assert key in row
        assert row["val_mse"] > 0 and row["epochs"] == 2 and not row["budget_limited"]
        assert (tmp_path / row["run_dir"].split("/")[-1] / "history.jsonl").is_file()
    assert data[0]["window"] == 1 and data[0]["window_pca_mse"] is None
    assert data[1]["window"] == 4 and data[1]["window_pca_mse"] > 0
    assert data[1]["vs_equal_budget"] == pytest.approx(data[1]["val_mse"] / data[1]["window_pca_mse"])
    with open(tmp_path / "compare.csv") as f:
        assert [r["variant"] for r in csv.DictReader(f)] == ["conv2d", "conv3d"]
    assert (tmp_path / "compare.png").stat().st_size > 1000
    # What the picture draws: every row's epochs and per-frame error, and the baselines.
    series = compare.plot_series(results)
    assert [len(r["val_mse"]) for r in series["rows"]] == [2, 2]
    assert all(r["frame_position"] is not None and len(r["frame_error"]) > 0 for r in series["rows"])
    assert {"mean frame", "per-frame PCA", "window PCA, T=4"} <= set(series["baselines"])
    # Where each validation part after the first begins, on the per-frame panel's axis.
    starts = series["part_starts"]
    assert starts is None or (len(starts) >= 1 and all(0 < v < series["rows"][0]["frame_position"][-1] + 1
                                                       for v in starts))
    line = compare.table_row(data[1])
    assert line.startswith("conv3d") and "%" in line


def test_budget_seconds_limits_each_row_and_keeps_a_validated_epoch(tiny):
    base = tiny(epochs=compare.BUDGET_EPOCHS, steps_per_epoch=2)
    rows = compare.plan_rows(base, ["conv2d"], [4])
    (result,) = compare.run_compare(rows, load_run_sequences(base), budget_seconds=0.5)
    row = result.row
    assert row["budget_limited"] and row["reason"] == "stopped"
    assert row["epochs"] >= 1 and row["val_mse"] is not None


def test_finished_rows_are_kept_when_interrupted(tiny, tmp_path, monkeypatch):
    base = tiny(epochs=1, steps_per_epoch=1, out=str(tmp_path))
    rows = compare.plan_rows(base, ["conv2d", "conv3d"], [4])
    real = compare_run.train_row

    def second_row_interrupted(planned, *args, **kwargs):
        if planned.variant == "conv3d":
            raise KeyboardInterrupt
        return real(planned, *args, **kwargs)

    monkeypatch.setattr(compare_run, "train_row", second_row_interrupted)
    with pytest.raises(KeyboardInterrupt):
        compare.run_compare(rows, load_run_sequences(base), out=tmp_path)
    assert [r["variant"] for r in json.loads((tmp_path / "compare.json").read_text())] == ["conv2d"]


def _series(n_rows, n_epochs, frames=True):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_rows):
        position = np.arange(600.0)
        rows.append({"label": f"row {i}", "epochs": list(range(1, n_epochs + 1)),
                     "val_mse": [0.04 - 0.002 * i - 0.003 * e for e in range(n_epochs)],
                     "frame_position": position if frames else None,
                     "frame_error": np.abs(0.03 + 0.01 * rng.standard_normal(600)) if frames else None})
    return {"rows": rows, "baselines": {"mean frame": 0.046, "per-frame PCA": 0.023, "window PCA, T=5": 0.025}}


@pytest.mark.parametrize("n_rows, n_epochs, frames", [(7, 1, True), (4, 12, True), (1, 0, False), (0, 0, False)])
def test_compare_png_draws_any_number_of_rows_and_epochs(tmp_path, n_rows, n_epochs, frames):
    from PIL import Image

    path = tmp_path / "compare.png"
    assert compare_png.draw_compare_png(path, _series(n_rows, n_epochs, frames))
    with Image.open(path) as image:
        assert image.size[0] >= 1000 and image.size[1] >= 600
        pixels = np.asarray(image.convert("RGB"))
    if n_rows:
        # The first row's colour is drawn (its curve and its legend entry).
        assert (np.abs(pixels.astype(int) - compare_png.ROW_COLOURS[0]).sum(axis=2) < 30).sum() > 50


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("n_rows, n_epochs", [(7, 2), (7, 1), (10, 30)])
def test_compare_png_keeps_legends_beside_the_data_and_titles_clear_of_ticks(n_rows, n_epochs):
    series = _series(n_rows, n_epochs)
    series["baselines"].update({"window PCA, T=10": 0.028, "window PCA, T=20": 0.03})
    image, boxes = compare_png.render(series)
    for panel in ("top", "bottom"):
        data, legend = boxes[f"{panel}.data"], boxes[f"{panel}.legend"]
        assert legend[0] > data[2]                                      # the legend is right of the curves
        assert legend[2] <= image.size[0] and legend[3] <= image.size[1]
        assert not _overlap(boxes[f"{panel}.x_title"], boxes[f"{panel}.x_ticks"])
        assert boxes[f"{panel}.x_title"][1] >= boxes[f"{panel}.x_ticks"][3] + 4   # a visible gap
        assert boxes[f"{panel}.y_title"][2] <= boxes[f"{panel}.y_ticks"][0] - 4
        assert not _overlap(boxes[f"{panel}.title"], data)
    # The top panel (and its legend: rows, then the baselines) ends before the bottom one starts.
    assert boxes["top.legend"][3] < boxes["bottom.title"][1]
    assert boxes["top.x_title"][3] < boxes["bottom.title"][1]


def test_nice_ticks_cover_the_range_with_round_steps():
    for lo, hi in [(0.021, 0.048), (0.5, 3.5), (0.0, 1199.0), (1e-5, 3e-5), (0.0312, 0.0315)]:
        ticks = compare_png.nice_ticks(lo, hi)
        assert 3 <= len(ticks) <= 9 and lo - 1e-12 <= ticks[0] and ticks[-1] <= hi + 1e-12
        labels = [compare_png.tick_text(t, ticks) for t in ticks]
        assert len(set(labels)) == len(labels)   # as many decimals as the step needs
    assert compare_png.tick_text(0.025, [0.02, 0.025, 0.03]) == "0.025"
    assert not math.isnan(compare_png.nice_ticks(1.0, 1.0)[0])


def test_ctrl_c_while_a_row_is_released_is_not_lost():
    """Ctrl-C that lands in a finalizer run by the collection between rows (where Python would
    ignore it) is raised once the collection is over, so the comparison stops."""
    import gc
    import os
    import signal

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(2000):   # Python code runs here: the signal's handler with it
                sum(range(10))

    gc.collect()
    Cycle()
    with pytest.raises(KeyboardInterrupt):
        compare_run.release_graph()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
