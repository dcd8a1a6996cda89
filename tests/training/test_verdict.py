"""The verdict: baselines compared with the model's validation MSE, and memorising spotted."""

import pytest

from tests.conftest import tiny_config
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession
from vaeviewer.training.verdict import BEATS_PCA, BELOW_PCA, COLLAPSED_KL, MEAN_FRAME, UNKNOWN, assess, memorising


def rows(*pairs):
    """History rows from (train, validation) reconstruction-term pairs; epochs count from 1."""
    return [{"epoch": i, "reconstruction": t, "val_reconstruction": v} for i, (t, v) in enumerate(pairs, 1)]


@pytest.mark.parametrize(
    "val, kind",
    [(0.010, BEATS_PCA), (0.0125, BELOW_PCA), (0.0194, BELOW_PCA),
     (0.0197, MEAN_FRAME), (0.0200, MEAN_FRAME), (0.03, MEAN_FRAME)],
)
def test_kind_follows_the_baselines(val, kind):
    # PCA 0.012, mean frame 0.02: within 2% of the mean frame counts as the mean frame.
    v = assess(val, 0.012, 0.02, latent_dim=6)
    assert v.kind == kind
    assert f"{val:.4g}" in v.text
    assert not v.overfitting


def test_an_empty_latent_is_collapse_even_a_little_under_the_mean_frame():
    # 4% under the mean frame, above PCA, KL 0.1 nats: the latent is unused.
    v = assess(0.0192, 0.012, 0.02, latent_dim=6, val_kl=0.1)
    assert v.kind == MEAN_FRAME and "Latent unused (KL 0.1 nats" in v.text and "posterior collapse" in v.text
    assert assess(0.0192, 0.012, 0.02, latent_dim=6, val_kl=3.0).kind == BELOW_PCA
    assert assess(0.0192, 0.012, 0.02, latent_dim=6).kind == BELOW_PCA        # KL unknown
    assert assess(0.0100, 0.012, 0.02, latent_dim=6, val_kl=0.1).kind == BEATS_PCA


def test_collapse_is_named_only_when_the_kl_is_under_the_threshold():
    # At the mean frame with a large KL (36.7 nats): undertrained, not collapsed.
    v = assess(0.0200, 0.012, 0.02, latent_dim=6, val_kl=36.7)
    assert v.kind == MEAN_FRAME
    assert "collapse" not in v.text and "smaller beta" not in v.text
    assert "train longer" in v.text and "36.7 nats" in v.text
    # Just above the threshold: still not collapse.
    assert "collapse" not in assess(0.0200, 0.012, 0.02, 6, val_kl=COLLAPSED_KL * 1.01).text
    # Under it: collapse, with the beta advice.
    v = assess(0.0200, 0.012, 0.02, latent_dim=6, val_kl=0.2)
    assert v.kind == MEAN_FRAME and "posterior collapse" in v.text and "smaller beta" in v.text
    # KL unknown: no claim about collapse either.
    v = assess(0.0200, 0.012, 0.02, latent_dim=6)
    assert "collapse" not in v.text and "train longer" in v.text


def test_beating_pca_says_by_how_much():
    v = assess(0.009, 0.012, 0.02, latent_dim=6)
    assert "25% lower" in v.text and "6 components" in v.text


def test_worse_than_the_mean_frame_says_by_how_much_not_within():
    # 0.02813 is 2.4% above the mean frame's 0.02746: not "within 2% of it".
    v = assess(0.02813, 0.012, 0.02746, latent_dim=4)
    assert v.kind == MEAN_FRAME
    assert "within" not in v.text
    assert "(val MSE 0.02813 vs 0.02746, 2.4% above it)" in v.text
    # Within 2% either side says so.
    for val in (0.0272, 0.02746, 0.0277):
        w = assess(val, 0.012, 0.02746, latent_dim=4)
        assert "within 2% of it" in w.text and "above it" not in w.text


def test_no_validation_is_unknown():
    assert assess(None, 0.01, 0.02, 6).kind == UNKNOWN
    assert assess(float("nan"), 0.01, 0.02, 6).kind == UNKNOWN


def test_memorising_needs_rising_validation_and_falling_training_loss():
    assert memorising(rows((20, 25), (10, 20), (5, 23))) == (2, pytest.approx(0.15))
    assert memorising(rows((20, 25), (10, 20), (5, 21))) is None        # 5% rise: noise
    assert memorising(rows((20, 25), (10, 20), (12, 23))) is None       # training loss rose too
    assert memorising(rows((20, 25), (10, 20))) is None                 # still improving
    assert memorising(rows((20, 25))) is None
    # KL warm-up lifts the validation *loss* while the reconstruction error falls: not memorising.
    warm = [{"epoch": i, "loss": l, "val_loss": vl, "reconstruction": r, "val_reconstruction": vr}
            for i, (l, vl, r, vr) in enumerate([(55, 60, 50, 50), (60, 69, 45, 49), (66, 78, 40, 48)], 1)]
    assert memorising(warm) is None
    v = assess(0.0195, 0.015, 0.02, 6, rows((20, 25), (10, 20), (5, 23)), n_train_frames=636)
    assert v.overfitting and "636 training frames" in v.text and "epoch 2" in v.text


def _kind_of(val, pca, mean, kl):
    if val >= 0.98 * mean or (kl < 0.5 and val >= pca):
        return MEAN_FRAME
    return BELOW_PCA if val >= pca else BEATS_PCA


def test_session_reports_a_verdict_every_epoch_and_in_the_summary(tiny_run):
    # tiny_run: TrainingSession(tiny_config(epochs=2, out=...), got.append).run(), shared with other files
    got, summary = tiny_run.events, tiny_run.summary
    base = [e for e in got if isinstance(e, ev.Baselines)][0]
    epochs = [e for e in got if isinstance(e, ev.EpochEnd)]
    assert len(epochs) == 2
    for e in epochs:
        assert e.verdict.kind == _kind_of(e.valid["mse"], base.pca_mse, base.mean_frame_mse, e.valid["kl"])
    kept = epochs[summary["kept_epoch"] - 1].valid      # kept_epoch counts from 1
    assert summary["val_kl"] == pytest.approx(kept["kl"])
    assert summary["verdict"] == _kind_of(summary["val_mse"], summary["pca_mse"], summary["mean_frame_mse"], kept["kl"])
    finished = [e for e in got if isinstance(e, ev.RunFinished)][0]
    assert summary["verdict_text"] in finished.message


def test_a_collapsed_model_is_called_so():
    # A huge KL weight leaves the latent empty: the decoder can only give the mean frame.
    summary = TrainingSession(tiny_config(epochs=1, beta=1e4), lambda e: None).run()
    assert summary["verdict"] == MEAN_FRAME, summary
    assert summary["val_kl"] < COLLAPSED_KL
    assert "posterior collapse" in summary["verdict_text"]
