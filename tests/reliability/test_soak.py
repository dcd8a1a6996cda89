"""Soak: many start/stop cycles of a tiny TrainingSession in one process.

Each cycle runs a session in a thread (as the GUI does), presses Stop after the first BatchEnd
and joins the thread. Afterwards no thread is left behind and the process's resident memory has
grown by a bounded amount. The figures are printed (run with -s to see them) and recorded as
test properties (--junitxml).

VAEVIEWER_SOAK_CYCLES changes the number of cycles (default 50).
"""

from __future__ import annotations

import gc
import os
import threading
import time

import psutil
import pytest

from tests.conftest import tiny_config
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession

CYCLES = int(os.environ.get("VAEVIEWER_SOAK_CYCLES", "50"))
# Budget for RSS growth over all cycles after the warm-up ones (TensorFlow's caches and
# allocator pools fill during the first cycles; a leak of one model per cycle would show
# as steady growth well above this).
RSS_BUDGET_MB = 150.0
WARMUP = 3


def one_cycle(sequences) -> ev.RunFinished:
    got = []
    first_batch = threading.Event()

    def listener(event):
        got.append(event)
        if isinstance(event, ev.BatchEnd):
            first_batch.set()

    cfg = tiny_config(epochs=100, steps_per_epoch=50, snapshot_interval_s=10.0)
    session = TrainingSession(cfg, listener, sequences=sequences)
    thread = threading.Thread(target=session.run, name="soak-session")
    thread.start()
    assert first_batch.wait(60), "no batch within 60 s"
    session.stop()
    thread.join(60)
    assert not thread.is_alive(), "the session thread did not end after Stop"
    done = [e for e in got if isinstance(e, ev.RunFinished)]
    assert len(done) == 1 and done[0].reason == "stopped", done
    return done[0]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.slow
def test_many_start_stop_cycles_leave_no_thread_and_bounded_memory(record_property):
    from vaeviewer.data.demo import demo_sequences

    cfg = tiny_config()
    sequences = demo_sequences(cfg.demo_sequences, cfg.demo_frames, frame_size=cfg.frame_size, seed=cfg.seed)
    threads_before = {t.ident for t in threading.enumerate()}
    t0 = time.perf_counter()
    rss = []
    for i in range(CYCLES):
        one_cycle(sequences)
        if i == WARMUP - 1 or i == CYCLES - 1:
            gc.collect()
            rss.append(rss_mb())
    seconds = time.perf_counter() - t0
    gc.collect()
    time.sleep(0.2)
    left = [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()
            and t.name.startswith(("soak-session", "vaeviewer"))]
    growth = rss[-1] - rss[0]
    per_cycle_kb = growth * 1024 / max(1, CYCLES - WARMUP)
    summary = (f"soak: {CYCLES} start/stop cycles in {seconds:.1f} s ({seconds / CYCLES:.2f} s each); "
               f"RSS {rss[0]:.0f} MB after {WARMUP} warm-up cycles -> {rss[-1]:.0f} MB after {CYCLES} "
               f"(+{growth:.1f} MB, {per_cycle_kb:.0f} KB per cycle)")
    print("\n" + summary)
    for key, value in (("soak_cycles", CYCLES), ("soak_seconds", round(seconds, 1)),
                       ("soak_rss_growth_mb", round(growth, 1)), ("soak_rss_per_cycle_kb", round(per_cycle_kb))):
        record_property(key, value)
    assert not left, f"threads left behind: {left}"
    other = [t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert len(other) <= 2, f"new threads still alive after the soak: {other}"  # TF may own a pool thread
    assert growth < RSS_BUDGET_MB, summary
