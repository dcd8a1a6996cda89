"""Soak: many start/stop cycles of a tiny TrainingSession in one process.

Each cycle runs a session in a thread (as the GUI does), presses Stop after the first BatchEnd
and joins the thread. Afterwards no thread is left behind and the process's resident memory has
grown by a bounded amount. The figures are printed (run with -s to see them) and recorded as
test properties (--junitxml).

A cycle costs about 2-5 s on a shared 2-core CPU (model build, the first traced train step,
baselines, one snapshot), so the default is 10 cycles (~40 s); VAEVIEWER_SOAK_CYCLES=50 runs the
full soak of issue 6 (measured: 50 cycles in 161 s, RSS +672 MB = 14.6 MB per cycle).

What the memory figure means: the sessions and their models are garbage-collected (asserted
with weak references), yet RSS grows by ~15 MB per cycle. That residue is TensorFlow/Keras'
own: building and training a fresh tiny VAE in a bare loop, with no vaeviewer session at all,
grows the same way, and keras.backend.clear_session() does not give it back (measured for
issue 6). The budget below bounds it per cycle, so a real leak (a session, a model or the data
kept alive per cycle) still fails the test through the weak references.
"""

from __future__ import annotations

import gc
import os
import weakref
import threading
import time

import psutil
import pytest

from tests.conftest import tiny_config
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession

CYCLES = int(os.environ.get("VAEVIEWER_SOAK_CYCLES", "10"))
WARMUP = 3           # TensorFlow's caches and allocator pools fill during the first cycles
RSS_PER_CYCLE_MB = 30.0


def one_cycle(sequences, refs: list) -> ev.RunFinished:
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
    refs.append((weakref.ref(session), weakref.ref(session.model)))
    done = [e for e in got if isinstance(e, ev.RunFinished)]
    assert len(done) == 1 and done[0].reason == "stopped", done
    return done[0]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.slow
@pytest.mark.timeout(max(300, CYCLES * 15 + 60))
def test_many_start_stop_cycles_leave_no_thread_and_bounded_memory(record_property):
    from vaeviewer.data.demo import demo_sequences

    cfg = tiny_config()
    sequences = demo_sequences(cfg.demo_sequences, cfg.demo_frames, frame_size=cfg.frame_size, seed=cfg.seed)
    threads_before = {t.ident for t in threading.enumerate()}
    t0 = time.perf_counter()
    rss = []
    refs: list = []
    for i in range(CYCLES):
        one_cycle(sequences, refs)
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
    alive = sum(1 for s, m in refs if s() is not None or m() is not None)
    assert alive <= 1, f"{alive} of {CYCLES} sessions or models are still alive after their run: a leak"
    assert per_cycle_kb / 1024 < RSS_PER_CYCLE_MB, summary
