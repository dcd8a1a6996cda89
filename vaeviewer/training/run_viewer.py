"""A finished run in the app: `RunViewer` sends the events a training session would, without training."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.opened_run import Run
from vaeviewer.training.prepare import PreparedData


class RunViewer:
    """A finished run in the app: the events a training session would send, without training.

    `run()` sends RunStarted, Baselines, one EpochEnd per history row, the views' Snapshot and a
    RunFinished; afterwards `inspect`, `full_snapshot` and `save_checkpoint` serve the app as a
    training session's do. Nothing is written into the run directory.
    """

    def __init__(self, path: str | os.PathLike, listener: Optional[Callable[[Any], None]] = None,
                 sequences: Optional[list] = None, data_paths: Optional[list] = None,
                 other_paths: Optional[list] = None):
        """`sequences` or `other_paths`: other data to apply the run to (whole, no validation);
        `data_paths`: where the run's own data is now, if it moved."""
        self.path = Path(path)
        self.listener = listener or (lambda event: None)
        self._sequences = sequences
        self._data_paths = data_paths
        self._other_paths = other_paths
        self.run_store: Optional[Run] = None
        self.inspector = None
        self.model = None
        self.data: Optional[PreparedData] = None
        self.history: list[dict[str, Any]] = []
        self.config: RunConfig = RunConfig()
        self._stop = False
        self.running = False
        self.paused = False

    def stop(self) -> None:
        self._stop = True

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def request_snapshot(self, split: str, sequence: int, start: int) -> None:
        pass

    def run(self) -> dict[str, Any]:
        self.running = True
        try:
            return self._open()
        except VaeViewerError as exc:
            self.listener(ev.RunFinished("error", str(exc)))
            raise
        finally:
            self.running = False

    def _open(self) -> dict[str, Any]:
        self.listener(ev.Message(f"opening {self.path}"))
        run = self.run_store = Run(self.path)
        # The app never writes into an opened run: no --out for anything it does with it.
        run.config = run.config.replace(out=None)
        self.model, self.config, self.history = run.model, run.config, list(run.history)
        self.listener(ev.Message("loading the data and computing the baselines"))
        if self._sequences is None and self._other_paths:
            from vaeviewer.data.sources import load_sequences

            h, w = run.frame_shape
            # The app applies a run to any recording: frames of another size are resized as they
            # load (the CLI's export asks for it with --frame-size); say so rather than do it silently.
            self.listener(ev.Message(f"other data: frames are resized to the model's {h}x{w} as they load"))
            self._sequences = load_sequences(self._other_paths, run.frame_shape)
            self.config = self.config.replace(paths=[os.path.abspath(p) for p in self._other_paths], demo=False)
        if self._sequences is not None:       # other data: every frame, no validation part
            inspector = run.inspector(self._sequences)
        elif self._data_paths:                # the run's own data, moved: split as the run did
            run.config = self.config = run.config.replace(paths=[os.path.abspath(p) for p in self._data_paths],
                                                          demo=False)
            inspector = run.inspector()
            run.check_same_data(inspector.data)
        else:
            inspector = run.inspector()
        self.inspector, self.data = inspector, inspector.data
        if self._stop:
            raise VaeViewerError("stopped before the run was opened")
        self.listener(self.started_event(0))
        if inspector.baselines is not None:
            self.listener(ev.Baselines(mean_frame_mse=inspector.baselines[0], pca_mse=inspector.baselines[1],
                                       window_pca_mse=inspector.window_pca_mse, window=self.config.model_window))
        shown = []
        for row in self.history:
            shown.append(row)
            train = {k: row[k] for k in ("loss", "reconstruction", "kl") if isinstance(row.get(k), (int, float))}
            valid = {k[4:]: row[k] for k in ("val_loss", "val_reconstruction", "val_kl", "val_mse")
                     if isinstance(row.get(k), (int, float))}
            self.listener(ev.EpochEnd(int(row.get("epoch", len(shown))) - 1, train, valid, float(row.get("seconds") or 0.0),
                                      verdict=inspector.verdict(row, shown) if inspector.baselines else None))
        terms, snapshot = inspector.validate()
        if snapshot is not None:
            self.listener(snapshot)
        summary = {"variant": self.config.variant, "stateful": self.config.stateful, "window": self.config.model_window,
                   "epochs": len(self.history), "val_mse": terms.get("mse"), "opened": str(self.path),
                   "reason": "completed", "seconds": sum(float(r.get("seconds") or 0.0) for r in self.history)}
        best = min((r for r in self.history if isinstance(r.get("val_loss"), (int, float))),
                   key=lambda r: r["val_loss"], default=None)
        n = len(self.history)
        text = f"opened {self.path} ({n} epoch{'' if n == 1 else 's'} trained; best.keras"
        text += f" from epoch {best['epoch']})" if best else ")"
        if terms.get("mse") is not None and inspector.baselines:
            verdict = inspector.verdict({"val_mse": terms["mse"], "val_kl": terms.get("kl")}, self.history)
            summary.update(verdict.as_dict())
            summary["kept_epoch"] = best["epoch"] if best else None
            text += f". {verdict.text}"
        self.listener(ev.RunFinished("completed", text, summary))
        return summary

    @property
    def applied_to_other_data(self) -> bool:
        """True when the run is shown over other data than its own (Apply run to data)."""
        return self._sequences is not None or bool(self._other_paths)

    def inspect(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        if self.inspector is None:
            raise VaeViewerError("the run is not open yet")
        self.inspector.selected = (split, sequence, start)
        return self.inspector.window(split, sequence, start)

    def full_snapshot(self) -> Optional[ev.Snapshot]:
        return self.inspector.full_snapshot() if self.inspector is not None else None

    def save_checkpoint(self, path: str | Path) -> None:
        from vaeviewer.models.io import save_model

        if Path(path).resolve().parent == self.path.resolve():
            raise VaeViewerError(f"{path}: an opened run is read-only; save the checkpoint elsewhere")
        save_model(self.model, path)

    def started_event(self, steps: int) -> ev.RunStarted:
        return self.inspector.started_event(steps, sum(len(s) for s in self.data.train))
