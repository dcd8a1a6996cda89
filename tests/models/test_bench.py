"""The benchmark runs end to end on a toy size and returns JSON-able figures."""

import json

import keras

from vaeviewer.benchmarks.models import bench_models


def test_bench_tiny():
    keras.mixed_precision.set_global_policy("float32")
    report = bench_models(steps=1, batch_size=2, frame_shape=(12, 12), window=2, warmup=1, rounds=1,
                          filters=(2, 4), inner_dim=4, latent_dim=2)
    json.dumps(report)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert set(report["variants"]) == {"conv2d", "conv3d", "convlstm"}
    for entry in report["variants"].values():
        assert set(entry["samples_per_s"]) == {"plain_float32", "float32", "auto"}
        assert all(v > 0 for v in entry["samples_per_s"].values())
        assert entry["speedup_auto_vs_plain"] > 0
        assert entry["val_loss_rel_diff"] >= 0
