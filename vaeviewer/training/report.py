"""What a training run reports in words and numbers: its summary (`--json`), a divergence, epoch counts."""

from __future__ import annotations

from typing import Any, Optional


def epochs_text(n: int) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n} epoch{'' if n == 1 else 's'}"


def layout_summary(data: Any) -> dict[str, Any]:
    """`split` (the split used) and, for stateful runs, the layout of the training groups."""
    plan = data.train_streams if data is not None else None
    return {
        "split": data.split if data is not None else None,
        "stateful_layout": plan.layout if plan is not None else None,   # "sequences" or "streams"
        "groups": len(plan.groups) if plan is not None else None,
        "dropped_frames": plan.dropped_frames if plan is not None else None,
        "left_out_sequences": plan.left_out if plan is not None else None,
    }


def run_summary(session: Any, samples_per_s: float, seconds: float = 0.0, best: Optional[dict] = None) -> dict[str, Any]:
    """The summary a run returns, prints with --json and sends in RunFinished.

    The validation figures are those of the kept epoch (`best` when restore_best is on, else the last).
    """
    history, cfg = session.history, session.config
    last = history[-1] if history else {}
    kept = best if (best is not None and cfg.restore_best) else last
    baselines = session.baselines
    data = session.data
    return {
        "variant": cfg.variant,
        "stateful": cfg.stateful,
        "window": cfg.model_window,
        "epochs": len(history),
        "steps": session.global_step,
        "train_loss": last.get("loss"),
        "val_loss": kept.get("val_loss"),
        "val_mse": kept.get("val_mse"),
        "val_kl": kept.get("val_kl"),
        "kept_epoch": kept.get("epoch"),     # 1-based, as history.jsonl and the console count
        "last_val_loss": last.get("val_loss"),
        "last_val_mse": last.get("val_mse"),
        "pca_mse": baselines[1] if baselines else None,
        "mean_frame_mse": baselines[0] if baselines else None,
        "window_pca_mse": session.window_pca_mse,   # window models: PCA with K per window (equal budget)
        "samples_per_s": samples_per_s,
        "seconds": seconds,
        "precision": session.precision,
        "effective_beta": session.model.beta if session.model is not None else None,
        # (lo, hi) of the loaded values stretched to 0..1 for training (cfg.intensity), or None
        "intensity_range": list(data.intensity) if data is not None and data.intensity else None,
        "device": session.device,
        "replicas": session.replicas,
        **layout_summary(data),
        "out": str(cfg.out) if cfg.out else None,
    }


def divergence_message(epoch: int, step: int, epochs_kept: int, rundir: Any, precision: Optional[str]) -> str:
    """What a diverged run says: where (0-based epoch and step in), what was kept (truthfully), what to try."""
    text = f"the loss became NaN or infinite at epoch {epoch + 1}, step {step + 1}; training stopped"
    if epochs_kept:
        text += f" and the model was set back to the end of epoch {epochs_kept}"
        if rundir is not None:
            text += f" (saved in {rundir.last_model})"
    else:
        text += " before any epoch finished, so no weights were saved"
        if rundir is not None:
            text += f" in {rundir.path}"
    if precision and precision.startswith("mixed"):
        text += (f". It ran in {precision}: --precision float32 is worth a try, then a lower "
                 "learning rate or a smaller beta")
    else:
        text += ". Try a lower learning rate or a smaller beta"
    return text + "."
