"""`training.compare`: planning rows, refusing what cannot train, running, writing the files."""

import csv
import json

import pytest

from vaeviewer.errors import VaeViewerError
from vaeviewer.training import compare
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
    real = compare.train_row

    def second_row_interrupted(planned, *args, **kwargs):
        if planned.variant == "conv3d":
            raise KeyboardInterrupt
        return real(planned, *args, **kwargs)

    monkeypatch.setattr(compare, "train_row", second_row_interrupted)
    with pytest.raises(KeyboardInterrupt):
        compare.run_compare(rows, load_run_sequences(base), out=tmp_path)
    assert [r["variant"] for r in json.loads((tmp_path / "compare.json").read_text())] == ["conv2d"]
