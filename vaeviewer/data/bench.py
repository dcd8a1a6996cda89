"""Measure what windowing costs: extra peak memory over the frames, and batches per second.

The measurement runs in a fresh Python process, because peak RSS (ru_maxrss) only ever grows
and would otherwise include whatever the calling process did before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np


def _rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import psutil

        return int(psutil.Process().memory_info().rss)


def _peak_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes, Linux: KiB


def measure(n_frames: int, window: int, stride: int, batch_size: int,
            frame_size: tuple[int, int] = (64, 80), max_batches: int | None = None) -> dict:
    """Run in-process: uint8 frames, then windows + one shuffled epoch of float32 batches."""
    from vaeviewer.data.sources import Sequence
    from vaeviewer.data.windows import iterate_batches, make_windows

    h, w = frame_size
    frames = np.empty((n_frames, h, w), dtype=np.uint8)
    frames[:] = (np.arange(n_frames) % 251).astype(np.uint8)[:, None, None]  # touch every page
    sequences = [Sequence("bench", frames)]
    rng = np.random.default_rng(0)  # before the baseline: importing numpy.random is not data
    base = _rss_bytes()
    # tracemalloc sees every numpy buffer allocated from here on: an exact, noise-free peak.
    # Peak RSS is reported beside it, but the allocator and the OS can inflate it.
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    index = make_windows(sequences, window, stride)
    n_batches = 0
    # like a training loop, the consumer holds one batch while the next one is made
    for batch in iterate_batches(sequences, index, window, batch_size, shuffle=True, rng=rng):
        n_batches += 1
        if max_batches is not None and n_batches >= max_batches:
            break
    seconds = time.perf_counter() - t0
    extra = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_extra = max(0, _peak_rss_bytes() - base)
    return {
        "n_frames": n_frames,
        "frame_shape": [h, w],
        "window": window,
        "stride": stride,
        "batch_size": batch_size,
        "windows": len(index),
        "batches": n_batches,
        "seconds": seconds,
        "frame_bytes": int(frames.nbytes),
        "peak_extra_bytes": int(extra),
        "rss_peak_extra_bytes": int(rss_extra),
        "ratio": extra / frames.nbytes,
        "batches_per_s": n_batches / seconds if seconds > 0 else float("inf"),
    }


def bench_windows(n_frames: int = 40000, window: int = 10, stride: int = 1, batch_size: int = 64,
                  max_batches: int | None = None, timeout_s: float = 600.0) -> dict:
    """Windowing cost for `n_frames` uint8 frames of 64x80, measured in a fresh process.

    Returns:
        dict with frame_bytes, peak_extra_bytes (peak of the memory allocated while building
        windows and batches, by tracemalloc), rss_peak_extra_bytes (peak RSS above the RSS with
        the frames loaded), ratio (peak_extra_bytes / frame_bytes; the target is <= 0.2), batches_per_s,
        plus the settings, windows, batches and seconds.
    """
    args = json.dumps([n_frames, window, stride, batch_size, [64, 80], max_batches])
    code = (
        "import json, sys\n"
        "from vaeviewer.data.bench import measure\n"
        "a = json.loads(sys.argv[1])\n"
        "print(json.dumps(measure(a[0], a[1], a[2], a[3], tuple(a[4]), a[5])))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"window benchmark failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(bench_windows(), indent=2))
