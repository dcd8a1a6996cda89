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


def test_first_verdict_listener_times_a_real_tiny_run():
    """The first-verdict bench's listener, on a real tiny run: it sees the first look, stops the run
    there, and every stage before it has a time (an earlier version failed on its first event)."""
    from tests.conftest import tiny_config
    from vaeviewer.benchmarks.training import _FirstVerdict, first_verdict_table
    from vaeviewer.training.session import TrainingSession

    listener = _FirstVerdict()
    session = TrainingSession(tiny_config(variant="conv3d", window=4, epochs=3, steps_per_epoch=6, first_look_s=1e-6),
                              listener)
    listener.session = session
    session.run()
    assert listener.source == "first look" and listener.verdict_s is not None
    assert not session.history                      # stopped at the first verdict, before an epoch ended
    stages = listener.stages()
    assert all(stages[k] is not None and stages[k] >= 0 for k in stages), stages
    row = {"first_verdict_s": listener.verdict_s, "from": listener.source, "stages": stages,
           "step_s": listener.step_s(), "n_train": listener.n_train, "n_valid": listener.n_valid}
    assert "conv3d" in first_verdict_table("tiny", {"conv3d": row}, 60.0)
