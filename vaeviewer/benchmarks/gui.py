"""GUI responsiveness benchmark: event-loop stalls during training, and training speed with the
window open as a ratio of the same run headless, measured side by side in one process.

Stalls: a 5 ms precise QTimer records when it fires; a gap longer than 5 ms is time the GUI
thread could not react (GIL held by the training thread, or a slow redraw). Speed: the mean
rate over consecutive batches of one epoch (validation pauses are left out, snapshot work is
in), after a warm-up that leaves out tracing and the first batches.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Optional

import numpy as np

from vaeviewer.benchmarks.clock import BatchClock, Ticks, now
from vaeviewer.config import RunConfig
from vaeviewer.training import events as ev



def bench_config() -> RunConfig:
    """The run both sides train: the default model and batch on 32x40 demo frames, cut by time.

    (32x40 rather than 64x80 keeps the start-up, mostly the PCA baseline, short on a CPU.)
    """
    return RunConfig(demo=True, demo_sequences=2, demo_frames=600, frame_size=(32, 40), epochs=1000,
                     precision="auto", snapshot_interval_s=1.0)


def _headless(cfg: RunConfig, warmup_s: float, measure_s: float) -> dict[str, Any]:
    from vaeviewer.training.session import TrainingSession

    clock = BatchClock()
    session = TrainingSession(cfg, clock)
    thread = threading.Thread(target=lambda: _run_quietly(session), name="bench-headless", daemon=True)
    thread.start()
    if not clock.first.wait(600):
        session.stop()
        raise RuntimeError("headless run produced no batch within 10 minutes")
    t0 = now() + warmup_s
    time.sleep(warmup_s + measure_s)
    t1 = now()
    session.stop()
    thread.join(120)
    return {"samples_per_s": clock.rate(cfg.batch_size, t0, t1), "batches": len(clock.times)}


def _run_quietly(session: Any) -> None:
    try:
        session.run()
    except Exception:  # the bench reports what it measured; a failure shows as a zero rate
        pass


def _with_gui(cfg: RunConfig, warmup_s: float, measure_s: float) -> dict[str, Any]:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QEventLoop, Qt, QTimer

    from vaeviewer.gui.app import ensure_app
    from vaeviewer.gui.main_window import MainWindow

    app = ensure_app()
    window = MainWindow(cfg)
    window.show_dialogs = False
    window.show()
    clock = BatchClock()
    window.controller.thread_listeners.append(clock)
    ticks = Ticks()
    loop = QEventLoop()
    window_times: dict[str, float] = {}

    def wait_first_batch() -> None:
        if clock.first.is_set():
            window_times["t0"] = now() + warmup_s
            QTimer.singleShot(int(warmup_s * 1000), lambda: window_times.__setitem__("cpu0", time.thread_time()))
            QTimer.singleShot(int((warmup_s + measure_s) * 1000), finish)
        elif not window.controller.running:
            loop.quit()
        else:
            QTimer.singleShot(50, wait_first_batch)

    def finish() -> None:
        window_times["t1"] = now()
        window_times["cpu1"] = time.thread_time()
        loop.quit()

    window.start_run()
    ticks.start()
    QTimer.singleShot(50, wait_first_batch)
    QTimer.singleShot(600_000, loop.quit)     # never hang a bench
    loop.exec()
    ticks.stop()
    window.controller.stop()
    window.controller.wait(120_000)
    window.close()
    app.processEvents()
    t0, t1 = window_times.get("t0", 0.0), window_times.get("t1", 0.0)
    gaps_ms = ticks.gaps_ms(t0, t1)
    return {
        "samples_per_s": clock.rate(cfg.batch_size, t0, t1),
        "batches": len(clock.times),
        "gaps_ms": gaps_ms,
        # CPU time of the GUI thread (event handling, redraws, painting) per second measured.
        "gui_thread_cpu": (window_times.get("cpu1", 0.0) - window_times.get("cpu0", 0.0)) / max(t1 - t0, 1e-9),
        "error": window.last_error,
    }


def _idle_gaps(seconds: float) -> np.ndarray:
    """Timer gaps of an idle event loop (no training): the machine's own scheduling noise."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QEventLoop, Qt, QTimer

    from vaeviewer.gui.app import ensure_app

    app = ensure_app()   # keep a reference: an unreferenced QApplication is deleted at once
    ticks = Ticks()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    ticks.start()
    loop.exec()
    ticks.stop()
    app.processEvents()
    return ticks.gaps_ms()


def bench_gui(seconds: float = 20, config: Optional[RunConfig] = None, rounds: int = 2) -> dict:
    """Measure GUI responsiveness during training and the GUI's cost in training speed.

    Headless and GUI runs alternate (H, G, H, G, ...) so that a change in the machine's load
    hits both sides alike; the ratio is total GUI rate over total headless rate.

    Args:
        seconds: measured training time in all, split evenly over the 2 * rounds runs (each
            also spends start-up and a warm-up of a fifth of its share, at least 1 s).
        config: the run to train (default: `bench_config()`).
        rounds: how many headless/GUI pairs.

    Returns:
        dict with stall_p99_ms and stall_max_ms (event-loop gaps of a 5 ms timer, all GUI runs
        pooled), headless/gui samples_per_s, ratio = gui / headless, and whether the targets
        (p99 < 50 ms, ratio >= 0.9) are met.
    """
    cfg = (config or bench_config()).validate()
    rounds = max(1, int(rounds))
    share = max(1.0, float(seconds) / (2 * rounds))
    warmup = max(1.0, share / 5)
    headless, gui = [], []
    load_before = os.getloadavg()[0]
    idle = _idle_gaps(2.0)
    for _ in range(rounds):
        headless.append(_headless(cfg, warmup, share))
        gui.append(_with_gui(cfg, warmup, share))
    h_rate = float(np.mean([r["samples_per_s"] for r in headless]))
    g_rate = float(np.mean([r["samples_per_s"] for r in gui]))
    ratio = g_rate / h_rate if h_rate else 0.0
    gaps = np.concatenate([r["gaps_ms"] for r in gui])
    p99 = float(np.percentile(gaps, 99)) if len(gaps) else float("nan")
    worst = float(gaps.max()) if len(gaps) else float("nan")
    return {
        "config": {"variant": cfg.variant, "window": cfg.window, "batch_size": cfg.batch_size,
                   "frame_size": list(cfg.frame_size or (64, 80)), "snapshot_interval_s": cfg.snapshot_interval_s},
        "measured_s_per_run": share,
        "headless_samples_per_s": round(h_rate, 1),
        "gui_samples_per_s": round(g_rate, 1),
        "ratio": round(ratio, 3),
        "ratio_per_round": [round(g["samples_per_s"] / h["samples_per_s"], 3) if h["samples_per_s"] else 0.0
                            for h, g in zip(headless, gui)],
        "gui_thread_cpu_fraction": round(float(np.mean([r["gui_thread_cpu"] for r in gui])), 3),
        "stall_p99_ms": round(p99, 1),
        # The same timer with no training at all: what the machine's load alone costs.
        "idle_stall_p99_ms": round(float(np.percentile(idle, 99)), 1) if len(idle) else None,
        "stall_max_ms": round(worst, 1),
        "stall_median_ms": round(float(np.median(gaps)), 1) if len(gaps) else None,
        "timer_ticks": int(len(gaps)),
        "batches": {"headless": sum(r["batches"] for r in headless), "gui": sum(r["batches"] for r in gui)},
        "targets_met": {"stall_p99_below_50ms": p99 < 50.0, "ratio_at_least_0.9": ratio >= 0.9},
        # The machine's 1-minute load average before and after: figures taken on a busy machine
        # (load well above the core count) show longer stalls than the app has on a quiet one.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
        "gui_error": next((r["error"] for r in gui if r["error"]), None),
    }
