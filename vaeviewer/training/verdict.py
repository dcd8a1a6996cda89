"""Has the model learned anything? A plain-words verdict from the validation MSE and the baselines.

A VAE with a small latent can settle on the mean frame (posterior collapse) or memorise a small
training set, and neither shows in a falling training loss. After every epoch the session
compares the model's validation MSE (reconstruction from z_mean) with the two baselines it
computed on the same validation frames: the mean training frame, and PCA with as many components
as the latent has; and it looks at the history for memorising (validation error rising while the
training error falls). A model whose validation KL is under COLLAPSED_KL nats and that does not
beat PCA is called collapsed too: its latent is unused even if its MSE is a little under the mean
frame's. The verdict travels with each EpochEnd event and ends up in the summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

# Within 2 % of the mean frame's MSE counts as "no better than the mean frame".
MEAN_FRAME_TOLERANCE = 0.02
# Validation error this far above its lowest, with the training error still falling: memorising.
OVERFIT_RISE = 0.10
# Below this KL (nats per sample, all latent dimensions together) the latent carries almost nothing.
# A latent that separates even two kinds of frame needs about log(2) = 0.7 nats.
COLLAPSED_KL = 0.5

BEATS_PCA = "beats_pca"
BELOW_PCA = "below_pca"
MEAN_FRAME = "mean_frame"
UNKNOWN = "unknown"
# A few words per kind, for a label; the full text says the figures.
HEADLINES = {
    BEATS_PCA: "beats PCA",
    BELOW_PCA: "better than the mean frame, not than PCA",
    MEAN_FRAME: "no better than the mean frame",
    UNKNOWN: "no validation data",
}


@dataclass(frozen=True)
class Verdict:
    kind: str            # beats_pca, below_pca, mean_frame or unknown (no validation data)
    text: str            # one or two sentences for a status line
    overfitting: bool    # validation loss rising from its lowest while the training loss falls

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.kind, "verdict_text": self.text, "overfitting": self.overfitting}


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def memorising(history: Sequence[dict[str, Any]]) -> Optional[tuple[int, float]]:
    """(epoch of the lowest validation error, rise of the last epoch's over it) when memorising.

    Memorising: the last epoch's validation reconstruction term is more than OVERFIT_RISE above
    its lowest so far, while its training reconstruction term is below that best epoch's. The
    reconstruction terms, not the losses: during KL warm-up the KL weight grows each epoch and
    lifts both losses without any memorising.
    """
    rows = [r for r in history if _finite(r.get("val_reconstruction")) and _finite(r.get("reconstruction"))]
    if len(rows) < 2:
        return None
    best = min(rows, key=lambda r: r["val_reconstruction"])
    last = rows[-1]
    if best is last or best["val_reconstruction"] <= 0:
        return None
    rise = last["val_reconstruction"] / best["val_reconstruction"] - 1.0
    if rise > OVERFIT_RISE and last["reconstruction"] < best["reconstruction"]:
        return int(best["epoch"]), rise
    return None


def assess(
    val_mse: Optional[float],
    pca_mse: Optional[float],
    mean_frame_mse: Optional[float],
    latent_dim: int,
    history: Sequence[dict[str, Any]] = (),
    n_train_frames: Optional[int] = None,
    val_kl: Optional[float] = None,
) -> Verdict:
    """Judge one validation MSE against the baselines (see the module docstring).

    `val_kl`: the validation KL per sample; below COLLAPSED_KL a model that does not beat PCA is
    called collapsed even when its MSE is a little under the mean frame's (the decoder's biases
    alone can fit the validation frames' brightness a little better than the training mean).
    """
    over = memorising(history)
    if not (_finite(val_mse) and _finite(pca_mse) and _finite(mean_frame_mse)):
        return Verdict(UNKNOWN, "No validation data: nothing to compare with the baselines.", over is not None)
    k = f"{latent_dim} component{'s' if latent_dim != 1 else ''}"
    at_mean = val_mse >= mean_frame_mse * (1.0 - MEAN_FRAME_TOLERANCE)
    empty = _finite(val_kl) and val_kl < COLLAPSED_KL
    if at_mean or (empty and val_mse >= pca_mse):
        kind = MEAN_FRAME
        if at_mean:
            text = f"No better than the mean frame (val MSE {val_mse:.4g} vs {mean_frame_mse:.4g})"
        else:
            text = (f"Latent unused (KL {val_kl:.2g} nats per sample): val MSE {val_mse:.4g}, close to the "
                    f"mean frame's {mean_frame_mse:.4g} and above PCA's {pca_mse:.4g}")
        text += ("; the latent carries almost nothing (posterior collapse): try a smaller beta, more "
                 "epochs or a larger latent")
    elif val_mse >= pca_mse:
        kind = BELOW_PCA
        text = (f"Better than the mean frame but not than PCA with {k} "
                f"(val MSE {val_mse:.4g} vs PCA {pca_mse:.4g})")
    else:
        kind = BEATS_PCA
        gain = 100.0 * (1.0 - val_mse / pca_mse) if pca_mse > 0 else 0.0
        text = f"Beats PCA with {k}: val MSE {val_mse:.4g} vs {pca_mse:.4g} ({gain:.0f}% lower)"
    if over is not None:
        epoch, rise = over
        frames = f" ({n_train_frames} training frames)" if n_train_frames else ""
        text += (f". Memorising the training data{frames}: validation error is {100 * rise:.0f}% above its "
                 f"lowest (epoch {epoch + 1}) while the training error still falls; more data helps, "
                 "or fewer epochs")
    return Verdict(kind, text + ".", over is not None)
