"""Settings changed in the main window: fitted to the loaded data, applied now or at the next Start.

`SettingsMixin` gives MainWindow `_fit_to_data` (a stateful batch too large for the data is
lowered, and said so), `_on_setting_changed` (a setting that changes what the running model sees
asks to restart; the others apply from the next Start) and `_on_data_failed`.
"""

from __future__ import annotations

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.controls import RESTART_SETTINGS
from vaeviewer.training.prepare import check_fits, largest_stateful_batch

# The settings that name the data (DataPanel.data_key): restored after a failed load.
DATA_SETTINGS = ("paths", "demo", "frame_size", "demo_sequences", "demo_frames")


class SettingsMixin:
    """Setting and data changes of MainWindow."""

    def _on_data_failed(self, text: str) -> None:
        """The chosen data did not load: go back to the data still loaded (if any), then say why.

        Without this, `self.config` would keep naming the bad file and the next Start would
        retry it instead of training on the data the panel still holds.
        """
        loaded = self.data_panel.loaded_config
        if loaded is not None:
            self.config = self.config.replace(**{k: getattr(loaded, k) for k in DATA_SETTINGS})
        if text.startswith("loading cancelled"):
            self.status.showMessage(text, 10000)   # the user asked for it: the panel says so, no dialog
            return
        self.show_error(text)

    def _fit_to_data(self, cfg: RunConfig) -> RunConfig:
        """`cfg` checked against the loaded data; a stateful batch too large for it is lowered.

        Stateful training cuts every training sequence into one stream per batch row, so the
        default batch of 64 does not fit a short clip: the largest batch that fits is taken and
        the status bar says so. Data still loading (or not loaded) is checked by the run itself.

        Raises:
            VaeViewerError: the settings cannot train on the loaded data.
        """
        sequences = self.data_panel.sequences_for(cfg)
        if sequences is None:
            return cfg
        try:
            check_fits(cfg, sequences)
            return cfg
        except VaeViewerError:
            if not cfg.stateful:
                raise
            best = largest_stateful_batch(cfg, sequences)
            if not 1 <= best < cfg.batch_size:
                raise
            fitted = cfg.replace(batch_size=best)
            check_fits(fitted, sequences)
        self._batch_before_fit = cfg.batch_size   # given back when stateful is turned off
        self.controls.set_config(fitted)
        self.status.showMessage(f"batch size set to {best}: the largest that fits stateful training on this data "
                                f"(each batch row is a whole sequence, or a stream of whole {cfg.model_window}-frame windows)", 15000)
        return fitted

    def _on_setting_changed(self, name: str) -> None:
        if self._closing:
            return
        if not self.controller.running:
            before = getattr(self, "_batch_before_fit", None)
            if name == "batch_size":
                self._batch_before_fit = None   # the user's own choice now
            elif before is not None and not self.current_config().stateful:
                self._batch_before_fit = None
                self.controls.set_config(self.current_config().replace(batch_size=before))
                self.status.showMessage(f"batch size back to {before} (stateful off)", 8000)
                return
            if name in ("stateful", "window", "batch_size", "variant"):
                try:  # say at once when the data cannot hold the new setting (and fit the batch)
                    self._fit_to_data(self.current_config())
                except VaeViewerError:
                    pass  # Start shows the problem in a dialog
            return
        running = self.controller.config
        wanted = self.current_config()
        if name in RESTART_SETTINGS and running is not None:
            old = (running.variant, running.window, running.stride, running.stateful)
            new = (wanted.variant, wanted.window, wanted.stride, wanted.stateful)
            if old == new:
                return
            # Check against the loaded data *before* stopping anything: a refused setting must
            # never cost the running model.
            try:
                wanted = self._fit_to_data(wanted.validate())
            except VaeViewerError as exc:
                self.controls.set_config(running)
                self.controls.set_running(True, self.controller.paused)
                self.show_error(f"{exc}\n\nThe running model was left as it is and keeps training.")
                return
            text = (f"Changing {name} changes what the model sees, so the running model cannot adopt it.\n\n"
                    "Stop this run and start a new one with the new setting? "
                    "The current curves stay, faded, for comparison.")
            if self.confirm(text):
                self.restart_with(wanted)
            else:
                self.controls.set_config(running)
                self.controls.set_running(True, self.controller.paused)
        else:
            self.status.showMessage(f"{name}: applies from the next Start (the running model keeps its setting)", 8000)
