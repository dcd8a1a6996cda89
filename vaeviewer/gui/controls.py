"""Controls panel: the run settings (variant, window, stride, stateful, ...) and Start/Pause/Stop."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
    QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

from vaeviewer.config import PRECISIONS, VARIANTS, RunConfig

STATEFUL_TIP_ON = ("Carry the ConvLSTM state from one window to the next one of the same sequence, "
                   "so the model can relate frames further apart than the window. Needs "
                   "non-overlapping windows and a fixed batch (one stream per row).")
STATEFUL_TIP_OFF = ("Stateful mode is only for convlstm: conv2d and conv3d have no recurrent state "
                    "to carry between windows. Choose the convlstm variant to enable it.")

# Settings whose change during a run restarts it (after a confirmation): they change what the
# model sees, so the running model cannot simply adopt them.
RESTART_SETTINGS = ("variant", "window", "stride", "stateful")


# The beta control's tooltip, by the settings' beta_scale (set from a settings file or the CLI).
BETA_TIPS = {
    "data": "weight of the KL term (beta-VAE), relative to the data: the KL is weighted by beta x the training "
            "frames' variance about their mean frame (beta_scale 'data', the default)",
    "none": "weight of the KL term (beta-VAE), as it is (beta_scale 'none', from the loaded settings): "
            "1 is the plain VAE",
}


class ControlsPanel(QWidget):
    """Edits a RunConfig. `settingChanged(name)` fires on user edits; buttons fire their signals."""

    startClicked = pyqtSignal()
    pauseClicked = pyqtSignal()
    stopClicked = pyqtSignal()
    settingChanged = pyqtSignal(str)

    def __init__(self, config: RunConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = config or RunConfig(demo=True)
        self._quiet = False

        self.variant = QComboBox()
        self.variant.addItems(VARIANTS)
        self.variant.setToolTip("conv2d: one frame at a time (appearance)\n"
                                "conv3d: a window of T frames (motion inside the window)\n"
                                "convlstm: a window, optionally stateful (motion across windows)")
        self.window = QSpinBox()
        self.window.setRange(1, 1000)
        self.window.setToolTip("T, frames per window (the frame strips show one window)")
        self.sliding = QRadioButton("sliding, stride")
        self.nonoverlap = QRadioButton("non-overlapping")
        self._overlap_group = QButtonGroup(self)
        self._overlap_group.addButton(self.sliding)
        self._overlap_group.addButton(self.nonoverlap)
        self.stride = QSpinBox()
        self.stride.setRange(1, 1000)
        self.stride.setToolTip("frames between the starts of consecutive windows (< window: they overlap)")
        self.stateful = QCheckBox("stateful (carry state across windows)")
        self.latent_dim = QSpinBox()
        self.latent_dim.setRange(1, 1024)
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, 1e6)
        self.beta.setDecimals(3)
        self.beta.setSingleStep(0.1)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.99)
        self.dropout.setDecimals(2)
        self.dropout.setSingleStep(0.05)
        self.dropout.setToolTip("encoder dropout around its dense layer (0 = none); "
                                "short clips are otherwise memorised")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 65536)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 10.0)
        self.learning_rate.setSingleStep(1e-4)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip("auto: mixed bfloat16/float16 on a capable GPU, float32 otherwise")

        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.start_button.setToolTip("Start training with these settings (F5)")

        stride_row = QHBoxLayout()
        stride_row.addWidget(self.sliding)
        stride_row.addWidget(self.stride)
        stride_row.addStretch(1)
        form = QFormLayout()
        form.addRow("variant", self.variant)
        self.window_label = QLabel("window T")
        form.addRow(self.window_label, self.window)
        form.addRow("windows", stride_row)
        form.addRow("", self.nonoverlap)
        form.addRow("", self.stateful)
        form.addRow("latent dim", self.latent_dim)
        form.addRow("beta", self.beta)
        form.addRow("dropout", self.dropout)
        form.addRow("batch size", self.batch_size)
        form.addRow("learning rate", self.learning_rate)
        form.addRow("epochs", self.epochs)
        form.addRow("precision", self.precision)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)

        self.set_config(self._base)
        self.set_running(False)

        self.start_button.clicked.connect(self.startClicked)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        self.variant.currentTextChanged.connect(lambda _t: self._changed("variant"))
        self.window.valueChanged.connect(lambda _v: self._changed("window"))
        self.stride.valueChanged.connect(lambda _v: self._changed("stride"))
        self.sliding.toggled.connect(lambda on: on and self._changed("stride"))
        self.nonoverlap.toggled.connect(lambda on: on and self._changed("stride"))
        self.stateful.toggled.connect(lambda _on: self._changed("stateful"))
        for name in ("latent_dim", "beta", "dropout", "batch_size", "learning_rate", "epochs"):
            getattr(self, name).valueChanged.connect(lambda _v, n=name: self._changed(n))
        self.precision.currentTextChanged.connect(lambda _t: self._changed("precision"))

    # ---- config <-> widgets -----------------------------------------------------------
    def set_config(self, config: RunConfig) -> None:
        """Show `config` in the widgets (no settingChanged signals)."""
        self._quiet = True
        try:
            self._base = config
            self.variant.setCurrentText(config.variant)
            self.window.setValue(config.window)
            self.stride.setValue(min(config.stride, config.window))
            non_overlapping = config.stride >= config.window and config.window > 1
            self.nonoverlap.setChecked(non_overlapping or config.stateful)
            self.sliding.setChecked(not (non_overlapping or config.stateful))
            self.stateful.setChecked(config.stateful and config.variant == "convlstm")
            self.latent_dim.setValue(config.latent_dim)
            self.beta.setValue(config.beta)
            self.beta.setToolTip(BETA_TIPS[config.beta_scale])
            self.dropout.setValue(config.dropout)
            self.batch_size.setValue(config.batch_size)
            self.learning_rate.setValue(config.learning_rate)
            self.epochs.setValue(config.epochs)
            self.precision.setCurrentText(config.precision)
        finally:
            self._quiet = False
        self._update_enabled()

    def config(self, base: RunConfig | None = None) -> RunConfig:
        """A RunConfig with this panel's settings over `base` (default: the last set config)."""
        base = base or self._base
        window = self.window.value()
        stateful = self.stateful.isChecked() and self.variant.currentText() == "convlstm"
        if stateful or self.nonoverlap.isChecked():
            stride = window
        else:
            stride = min(self.stride.value(), window)
        return base.replace(
            variant=self.variant.currentText(), window=window, stride=stride, stateful=stateful,
            latent_dim=self.latent_dim.value(), beta=float(self.beta.value()), dropout=float(self.dropout.value()),
            batch_size=self.batch_size.value(), learning_rate=float(self.learning_rate.value()),
            epochs=self.epochs.value(), precision=self.precision.currentText(),
        )

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")

    # ---- internals --------------------------------------------------------------------
    def _changed(self, name: str) -> None:
        self._update_enabled()
        if not self._quiet:
            self.settingChanged.emit(name)

    def _update_enabled(self) -> None:
        """Enable what makes sense for the variant; adjustments made here are not user edits."""
        was, self._quiet = self._quiet, True
        try:
            is_lstm = self.variant.currentText() == "convlstm"
            if not is_lstm and self.stateful.isChecked():
                self.stateful.setChecked(False)
            self.stateful.setEnabled(is_lstm)
            self.stateful.setToolTip(STATEFUL_TIP_ON if is_lstm else STATEFUL_TIP_OFF)
            stateful = is_lstm and self.stateful.isChecked()
            if stateful and not self.nonoverlap.isChecked():
                self.nonoverlap.setChecked(True)
            self.sliding.setEnabled(not stateful)
            self.stride.setMaximum(max(1, self.window.value()))
            self.stride.setEnabled(not stateful and self.sliding.isChecked())
            self.sliding.setToolTip("stateful training needs non-overlapping windows" if stateful else "")
            # conv2d sees one frame: the number only sets how many frames the strips show.
            per_frame = self.variant.currentText() == "conv2d"
            self.window_label.setText("frames shown" if per_frame else "window T")
            self.window.setToolTip("frames the strips show side by side (conv2d sees one frame at a time)"
                                   if per_frame else "T, frames per window (the frame strips show one window)")
            self.sliding.setEnabled(not stateful and not per_frame)
            self.nonoverlap.setEnabled(not per_frame)
            self.stride.setEnabled(not stateful and not per_frame and self.sliding.isChecked())
        finally:
            self._quiet = was
