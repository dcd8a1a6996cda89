"""The real window on the real TrainingSession with tiny runs (TensorFlow on the CPU)."""

import argparse

import pytest

from vaeviewer.config import RunConfig

pytestmark = pytest.mark.slow


def tiny(**changes) -> RunConfig:
    base = dict(demo=True, demo_sequences=2, demo_frames=80, frame_size=(16, 20), variant="conv2d", window=4,
                stride=1, filters=(4, 8), inner_dim=8, latent_dim=2, batch_size=8, epochs=2, steps_per_epoch=3,
                precision="float32", valid_fraction=0.25, snapshot_interval_s=0.0, seed=1)
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture
def real_window(qtbot):
    from vaeviewer.gui.main_window import MainWindow

    def make(cfg):
        window = MainWindow(cfg)
        window.show_dialogs = False
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    made = []
    yield make
    for w in made:
        w.controller.stop()
        w.controller.wait(60000)


def test_tiny_run_then_click_a_latent_point(qtbot, real_window, tmp_path):
    w = real_window(tiny())
    with qtbot.waitSignal(w.controller.runFinished, timeout=120000) as done:
        assert w.start_run()
    assert done.args[0].reason == "completed", done.args[0].message
    qtbot.waitUntil(lambda: not w.controller.running and w.scatter.latents is not None, timeout=10000)
    assert w.loss_plot.batch_data().shape[0] == 6 and w.loss_plot.epoch_data().shape[0] == 2
    assert w.strips.images[1].image is not None and w.timeline.error is not None
    # The verdict of the kept epoch is shown above the loss plot, in words, with the figures in the tooltip.
    from vaeviewer.training.verdict import HEADLINES

    summary = done.args[0].summary
    assert HEADLINES[summary["verdict"]] in w.loss_plot.verdict.text()
    assert w.loss_plot.verdict.toolTip() == summary["verdict_text"]
    # Click a point of the second validation sequence: the session inspects it, the strips follow.
    i = next(j for j in range(len(w.scatter.frame_of)) if w.scatter.sequence_of[j] == 1 and w.scatter.frame_of[j] > 0)
    with qtbot.waitSignal(w.controller.snapshot, timeout=30000) as sig:
        w.scatter.select_index(i)
    assert (sig.args[0].sequence, sig.args[0].start) == (1, int(w.scatter.frame_of[i]))
    qtbot.waitUntil(lambda: w.strips.snapshot.sequence == 1 and w.strips.snapshot.start == int(w.scatter.frame_of[i]))
    assert w.scatter.selected_index == i
    w.export_history_csv(str(tmp_path / "h.csv"))
    assert len((tmp_path / "h.csv").read_text().splitlines()) == 3
    w.grab().save("/tmp/vaeviewer_real_after_click.png")


def test_stateful_window_change_restarts_then_close_during_training(qtbot, real_window):
    w = real_window(tiny(variant="convlstm", stateful=True, stride=4, batch_size=2, epochs=200, steps_per_epoch=4))
    assert w.controls.stateful.isEnabled() and w.controls.stateful.isChecked()
    w.confirm = lambda text: True
    with qtbot.waitSignal(w.controller.runStarted, timeout=120000):
        assert w.start_run()
    qtbot.waitUntil(lambda: w.loss_plot.batch_data().shape[0] > 0, timeout=60000)
    with qtbot.waitSignal(w.controller.runStarted, timeout=120000) as sig:
        w.controls.window.setValue(5)
    cfg = sig.args[0].config
    assert (cfg["window"], cfg["stride"], cfg["stateful"]) == (5, 5, True)
    assert w.loss_plot.earlier_runs == 1
    qtbot.waitUntil(lambda: w.strips.snapshot is not None and w.strips.snapshot.inputs.shape[0] == 5, timeout=60000)
    w.grab().save("/tmp/vaeviewer_real_restarted.png")
    w.close()                                    # during training: stops the run, then closes
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=60000)
    assert not w.controller.running


def test_main_gui_autostart_quit_after_screenshot(qtbot, tmp_path):
    from vaeviewer.gui.app import main_gui

    shot = tmp_path / "shot.png"
    args = argparse.Namespace(paths=[], demo=True, frame_size="16x20", variant="conv2d", window=4, stride=None,
                              stateful=False, autostart=True, quit_after=4.0, screenshot=str(shot), epochs=1)
    assert main_gui(args) == 0
    assert shot.stat().st_size > 10000


def test_bench_gui_reports_stalls_and_ratio():
    from vaeviewer.benchmarks.gui import bench_gui

    result = bench_gui(seconds=2, config=tiny(epochs=1000, steps_per_epoch=None), rounds=1)
    assert result["headless_samples_per_s"] > 0 and result["gui_samples_per_s"] > 0
    assert result["timer_ticks"] > 10 and result["stall_max_ms"] >= result["stall_p99_ms"] >= 5
    assert set(result["targets_met"]) == {"stall_p99_below_50ms", "ratio_at_least_0.9"}
