"""Has the model learned anything? A plain-words verdict from the validation MSE and the baselines.

A VAE with a small latent can settle on the mean frame (posterior collapse) or memorise a small
training set, and neither shows in a falling training loss. After every epoch the session
compares the model's validation MSE (reconstruction from z_mean) with the two baselines it
computed on the same validation frames: the mean training frame, and PCA with as many components
as the latent has; and it looks at the history for memorising (validation error rising while the
training error falls). A model whose validation KL is under COLLAPSED_KL nats and that does not
beat PCA is called collapsed too: its latent is unused even if its MSE is a little under the mean
frame's. A model at the mean frame whose KL is above COLLAPSED_KL has not collapsed: its latent
carries information the decoder does not use yet, and the advice is to train longer. The verdict travels with each EpochEnd event and ends up in the summary.

Equal budget. conv2d encodes each frame into K numbers, so per-frame PCA with K components spends
what it spends. A window model (conv3d, convlstm) encodes a window of T frames into K numbers:
against it per-frame PCA spends T*K, a harsh baseline. For window models the verdict also compares
with PCA over flattened windows with K components (`window_pca_mse`), which spends the same K
numbers per window, and says which baseline is at equal budget. The kind (beats_pca, below_pca,
mean_frame) stays the comparison with per-frame PCA and the mean frame, as before; the
equal-budget comparison is `equal_budget_baseline` ("pca" or "window_pca") and
`beats_equal_budget`.
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
    # The baseline that spends as many numbers as the model: "pca" (per-frame, conv2d) or
    # "window_pca" (K components per window, conv3d/convlstm); and whether the model beats it.
    equal_budget: str = "pca"
    beats_equal_budget: Optional[bool] = None

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.kind, "verdict_text": self.text, "overfitting": self.overfitting,
                "equal_budget_baseline": self.equal_budget, "beats_equal_budget": self.beats_equal_budget}


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def memorising(history: Sequence[dict[str, Any]]) -> Optional[tuple[int, float]]:
    """(epoch of the lowest validation error, rise of the last epoch's over it) when memorising.

    The epoch is the row's own "epoch" value: 1-based, as history rows count them.

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
    window: int = 1,
    window_pca_mse: Optional[float] = None,
) -> Verdict:
    """Judge one validation MSE against the baselines (see the module docstring).

    `val_kl`: the validation KL per sample; below COLLAPSED_KL a model that does not beat PCA is
    called collapsed even when its MSE is a little under the mean frame's (the decoder's biases
    alone can fit the validation frames' brightness a little better than the training mean).

    `window`, `window_pca_mse`: for a window model (window > 1), the frames per window and the
    validation MSE of PCA with `latent_dim` components per window; the text then names the
    per-frame PCA's budget (K per frame) and adds the comparison at equal budget.
    """
    over = memorising(history)
    windowed = window > 1 and _finite(window_pca_mse)
    equal_budget = "window_pca" if window > 1 else "pca"
    if not (_finite(val_mse) and _finite(pca_mse) and _finite(mean_frame_mse)):
        return Verdict(UNKNOWN, "No validation data: nothing to compare with the baselines.", over is not None,
                       equal_budget)
    k = f"{latent_dim} component{'s' if latent_dim != 1 else ''}"
    if window > 1:
        # Per-frame PCA spends K numbers on every frame, T*K on a window the model codes in K.
        k += f" per frame, {window * latent_dim} per window"
    at_mean = val_mse >= mean_frame_mse * (1.0 - MEAN_FRAME_TOLERANCE)
    empty = _finite(val_kl) and val_kl < COLLAPSED_KL
    if at_mean or (empty and val_mse >= pca_mse):
        kind = MEAN_FRAME
        if at_mean:
            if val_mse > mean_frame_mse * (1.0 + MEAN_FRAME_TOLERANCE):
                # Worse than the mean frame by more than the tolerance: say by how much.
                above = 100.0 * (val_mse / mean_frame_mse - 1.0) if mean_frame_mse > 0 else math.inf
                where = f"{above:.1f}% above it" if math.isfinite(above) else "above it"
            else:
                where = f"within {MEAN_FRAME_TOLERANCE:.0%} of it"
            text = f"No better than the mean frame (val MSE {val_mse:.4g} vs {mean_frame_mse:.4g}, {where})"
        else:
            text = (f"Latent unused (KL {val_kl:.2g} nats per sample): val MSE {val_mse:.4g}, close to the "
                    f"mean frame's {mean_frame_mse:.4g} and above PCA's {pca_mse:.4g}")
        if empty:
            text += ("; the latent carries almost nothing (posterior collapse): try a smaller beta, more "
                     "epochs or a larger latent")
        else:
            # KL above COLLAPSED_KL: the encoder does put information in z, but the decoder does not
            # turn it into better frames yet; the model is undertrained, not collapsed.
            carries = f"the latent carries {val_kl:.3g} nats per sample, so " if _finite(val_kl) else ""
            text += f"; {carries}the model is undertrained: train longer (more epochs or steps per epoch)"
    elif val_mse >= pca_mse:
        kind = BELOW_PCA
        text = (f"Better than the mean frame but not than PCA with {k} "
                f"(val MSE {val_mse:.4g} vs PCA {pca_mse:.4g})")
    else:
        kind = BEATS_PCA
        gain = 100.0 * (1.0 - val_mse / pca_mse) if pca_mse > 0 else 0.0
        text = f"Beats PCA with {k}: val MSE {val_mse:.4g} vs {pca_mse:.4g} ({gain:.0f}% lower)"
    beats_equal = None
    if windowed:
        beats_equal = val_mse < window_pca_mse
        budget = (f"At equal budget ({latent_dim} numbers per {window}-frame window) it "
                  f"{'beats' if beats_equal else 'does not beat'} window PCA ({latent_dim} components over "
                  f"whole windows): val MSE {val_mse:.4g} vs {window_pca_mse:.4g}")
        if beats_equal:
            gain = 100.0 * (1.0 - val_mse / window_pca_mse) if window_pca_mse > 0 else 0.0
            budget += f" ({gain:.0f}% lower)"
        text += ". " + budget
    elif window <= 1:   # conv2d: per-frame PCA is the equal-budget baseline
        beats_equal = kind == BEATS_PCA
    if over is not None:
        epoch, rise = over
        frames = f" ({n_train_frames} training frames)" if n_train_frames else ""
        text += (f". Memorising the training data{frames}: validation error is {100 * rise:.0f}% above its "
                 f"lowest (epoch {epoch}) while the training error still falls; more data helps, "
                 "or fewer epochs")
    return Verdict(kind, text + ".", over is not None, equal_budget, beats_equal)
