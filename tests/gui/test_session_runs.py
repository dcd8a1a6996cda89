"""The session's runs as plain data (no widgets): what names a run, its best val MSE, its colour."""

import math

from vaeviewer.gui.session_runs import RUN_COLOURS, config_tip, row_variant, session_run, settings_labels


def summary(**extra):
    return {"epochs": 2, "steps": 6, "val_mse": 0.02, "val_kl": 2.0, "pca_mse": 0.02, "mean_frame_mse": 0.05,
            "window_pca_mse": None, "samples_per_s": 100.0, "seconds": 1.5, "reason": "completed", "out": None,
            "verdict": "beats_pca", "verdict_text": "", **extra}


def test_labels_name_only_the_settings_that_tell_runs_apart(tiny):
    configs = [tiny(variant="conv2d", beta=1.0, out="a"), tiny(variant="conv2d", beta=0.5, out="b"),
               tiny(variant="convlstm", stateful=True, stride=4, beta=1.0, batch_size=2)]
    runs = [session_run(i + 1, c, summary(), [0.03, 0.02]) for i, c in enumerate(configs)]
    labels = settings_labels(configs, [r.row for r in runs])
    # "out" never counts; the stride of conv2d and of a stateful run is not a setting of theirs
    assert labels[0] == "conv2d, beta 1, batch_size 8"
    assert labels[1] == "conv2d, beta 0.5, batch_size 8"
    assert labels[2].startswith("convlstm") and "batch_size 2" in labels[2] and "stride" not in labels[2]
    assert row_variant(configs[2]) == "convlstm-stateful" and "convlstm-stateful" in config_tip(runs[2])
    assert [r.colour for r in runs] == RUN_COLOURS[:3]


def test_best_val_mse_falls_back_to_the_summary(tiny):
    assert session_run(1, tiny(), summary(), [0.03, float("nan"), 0.025]).best_val_mse == 0.025
    assert session_run(1, tiny(), summary(val_mse=0.04), []).best_val_mse == 0.04
    assert session_run(1, tiny(), summary(val_mse=math.nan), []).best_val_mse is None
