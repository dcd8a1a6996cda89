"""What a run's views and verdicts go by: the data's layout (RunStarted), the baselines, the verdict.

`RunFacts` is a part of the Inspector (its base class); `source_lengths` is shared with the
trainer (data.json) and an opened run (is this the run's own data?).
"""

from __future__ import annotations

from typing import Any

from vaeviewer.training import events as ev
from vaeviewer.training.prepare import PreparedData


def source_lengths(data: PreparedData) -> list[int]:
    """Frames per loaded sequence (source), whatever the split cut from it."""
    both = data.train + data.valid
    return [max((s.offset + len(s) for s in both if s.source_index == i), default=0) for i in range(data.n_sources)]


class RunFacts:
    """The Inspector's answers that need no model: the layout, the baselines, the verdict.

    Uses the Inspector's `config`, `data`, `device`, `precision`, `baselines` and `window_pca_mse`.
    """

    # ---- what the views lay out by ------------------------------------------------------
    def started_event(self, steps: int, n_train: int) -> ev.RunStarted:
        """What the views need to know of the data and settings (a run start, a checkpoint load,
        an opened run)."""
        cfg, d = self.config, self.data
        both = d.train + d.valid
        return ev.RunStarted(
            config=cfg.to_dict(),
            device=self.device,
            precision=self.precision,
            n_sequences=d.n_sources,
            frame_shape=d.frame_shape,
            n_train=n_train,
            n_valid=len(d.valid_index) if d.valid_index is not None else 0,
            steps_per_epoch=steps,
            epochs=cfg.epochs,
            intensity=d.intensity,
            train_lengths=[len(s) for s in d.train],
            valid_lengths=[len(s) for s in d.valid],
            # Where each part sits in its file, so the views name frames as the file does.
            train_offsets=[int(s.offset) for s in d.train],
            valid_offsets=[int(s.offset) for s in d.valid],
            train_sources=[int(s.source_index) for s in d.train],
            valid_sources=[int(s.source_index) for s in d.valid],
            source_names=[next((s.name for s in both if s.source_index == i), "") for i in range(d.n_sources)],
            source_lengths=source_lengths(d),
        )

    def compute_baselines(self) -> ev.Baselines:
        """The mean-frame and per-frame PCA errors on the validation frames (and, for window
        models, PCA with K components per window, the baseline at equal budget); kept here for
        the verdicts and returned as the event the views draw."""
        from vaeviewer.training.baselines import compute_baselines, compute_window_pca

        cfg, d = self.config, self.data
        self.baselines = compute_baselines(d.train, d.valid, cfg.latent_dim, seed=cfg.seed)
        if cfg.uses_windows:
            # Fitted on windows at stride 1 whatever the run's stride: the same baseline for every
            # run with this window (stateful or not), as the per-frame baselines are.
            self.window_pca_mse = compute_window_pca(d.train, d.valid, cfg.model_window, cfg.latent_dim, stride=1,
                                                     seed=cfg.seed)
        return ev.Baselines(mean_frame_mse=self.baselines[0], pca_mse=self.baselines[1],
                            window_pca_mse=self.window_pca_mse, window=cfg.model_window)

    def verdict(self, row: dict[str, Any], history: list[dict[str, Any]]):
        """The verdict on `row`'s validation MSE, with the history so far (see verdict.py)."""
        from vaeviewer.training.verdict import assess

        mean_mse, pca_mse = self.baselines if self.baselines else (None, None)
        n_frames = sum(len(s) for s in self.data.train)
        return assess(row.get("val_mse"), pca_mse, mean_mse, self.config.latent_dim, history, n_frames,
                      val_kl=row.get("val_kl"), window=self.config.model_window, window_pca_mse=self.window_pca_mse)
