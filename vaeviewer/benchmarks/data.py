"""Data-layer figures: what windowing costs (extra peak memory over the frames, batches per
second), and how fast a long video loads next to the bundled ffmpeg's own decode-and-scale.

The measurements run in a fresh Python process, because peak RSS (ru_maxrss) only ever grows
and would otherwise include whatever the calling process did before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from vaeviewer.benchmarks.clock import now


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
    t0 = now()
    index = make_windows(sequences, window, stride)
    n_batches = 0
    # like a training loop, the consumer holds one batch while the next one is made
    for batch in iterate_batches(sequences, index, window, batch_size, shuffle=True, rng=rng):
        n_batches += 1
        if max_batches is not None and n_batches >= max_batches:
            break
    seconds = now() - t0
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
        "from vaeviewer.benchmarks.data import measure\n"
        "a = json.loads(sys.argv[1])\n"
        "print(json.dumps(measure(a[0], a[1], a[2], a[3], tuple(a[4]), a[5])))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"window benchmark failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- video loading ------------------------------------------------------------------------------

def bench_video_path(n_frames: int, size: tuple[int, int] = (576, 768),
                     cache_dir: str | None = None) -> tuple[Path, float]:
    """A generated test video (ffmpeg's moving "testsrc2" pattern, MPEG-4 part 2 in AVI, 25 fps),
    cached in the temp folder; returns (path, seconds spent generating it, 0 when cached)."""
    from vaeviewer.data.media import ffmpeg_exe

    h, w = size
    folder = Path(cache_dir or os.path.join(tempfile.gettempdir(), "vaeviewer-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"testsrc2-{n_frames}-{w}x{h}.avi"
    if path.exists() and path.stat().st_size > 0:
        return path, 0.0
    part = folder / f".{path.name}.{os.getpid()}.avi"
    t0 = now()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-f", "lavfi",
                    "-i", f"testsrc2=size={w}x{h}:rate=25", "-frames:v", str(n_frames), "-c:v", "mpeg4",
                    "-q:v", "5", "-pix_fmt", "yuv420p", str(part)], check=True, capture_output=True)
    os.replace(part, path)
    return path, now() - t0


def measure_video_load(path: str, frame_size: tuple[int, int], old_path: bool = False) -> dict:
    """Run in-process (a fresh one): load_sequences on one video, its time and peak memory.

    old_path: time the loader this replaced instead (imageio's reader at full size in gray,
    then Pillow's bilinear resize frame by frame), for the record.
    """
    import tracemalloc

    import numpy as np

    from vaeviewer.data.sources import load_sequences

    base = _rss_bytes()
    tracemalloc.start()  # sees every numpy buffer: the stored frames and anything held beside them
    t0 = now()
    if old_path:
        import imageio_ffmpeg

        from vaeviewer.data import convert

        reader = imageio_ffmpeg.read_frames(path, pix_fmt="gray", bits_per_pixel=8)
        w, h = next(reader)["size"]
        collector = convert.FrameCollector(path, frame_size, capacity=256)
        for chunk in reader:
            collector.add(np.frombuffer(chunk, dtype=np.uint8).reshape(h, w), path)
        frames = collector.finish()
    else:
        (seq,) = load_sequences([path], frame_size)
        frames = seq.frames
    seconds = now() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": seconds, "frames": int(frames.shape[0]), "frame_bytes": int(frames.nbytes),
            "peak_bytes": int(peak), "rss_peak_extra_bytes": int(max(0, _peak_rss_bytes() - base))}


def _fresh_process(args: list, timeout_s: float) -> dict:
    code = (
        "import json, sys\n"
        "from vaeviewer.benchmarks.data import measure_video_load\n"
        "a = json.loads(sys.argv[1])\n"
        "print(json.dumps(measure_video_load(a[0], tuple(a[1]), a[2])))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                          timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"video load benchmark failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_video_load(n_frames: int = 10000, size: tuple[int, int] = (576, 768), frame_size: tuple[int, int] = (64, 80),
                     repeats: int = 2, old_path: bool = True, cache_dir: str | None = None,
                     timeout_s: float = 1800.0) -> dict:
    """vaeviewer's load time of a generated video at `frame_size`, against the bundled ffmpeg's
    own decode-and-scale of the same file to the same gray frames (written to /dev/null).

    Runs ffmpeg and vaeviewer alternately `repeats` times each and keeps each one's best time
    (the least disturbed by other work on the machine). Returns the settings, the seconds,
    ratio (vaeviewer / ffmpeg; the goal is <= 1.3), peak_over_frames (tracemalloc's peak while
    loading over the stored frames' bytes), rss_peak_extra_bytes, and with old_path the time
    of the loader this replaced (full-size decode, then a Pillow resize per frame).
    """
    from vaeviewer.data.media import ffmpeg_decode_args

    path, made_s = bench_video_path(n_frames, size, cache_dir)
    cmd = ffmpeg_decode_args(path, frame_size)
    ffmpeg_s, load_s, runs = [], [], []
    for _ in range(max(1, repeats)):
        t0 = now()
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=timeout_s)
        ffmpeg_s.append(now() - t0)
        run = _fresh_process([str(path), list(frame_size), False], timeout_s)
        runs.append(run)
        load_s.append(run["seconds"])
    best = runs[load_s.index(min(load_s))]
    result = {
        "video": str(path),
        "video_frames": n_frames,
        "video_size": [size[0], size[1]],
        "codec": "mpeg4 (avi)",
        "generate_seconds": round(made_s, 1),
        "frame_size": list(frame_size),
        "frames_loaded": best["frames"],
        "ffmpeg_seconds": min(ffmpeg_s),
        "vaeviewer_seconds": min(load_s),
        "ratio": min(load_s) / min(ffmpeg_s),
        "goal_ratio": 1.3,
        "all_ffmpeg_seconds": [round(x, 3) for x in ffmpeg_s],
        "all_vaeviewer_seconds": [round(x, 3) for x in load_s],
        "frame_bytes": best["frame_bytes"],
        "peak_bytes": best["peak_bytes"],
        "peak_over_frames": best["peak_bytes"] / max(1, best["frame_bytes"]),
        "rss_peak_extra_bytes": best["rss_peak_extra_bytes"],
        "frames_per_s": best["frames"] / min(load_s),
    }
    if old_path:
        old = _fresh_process([str(path), list(frame_size), True], timeout_s)
        result["old_loader_seconds"] = old["seconds"]
        result["old_loader_peak_over_frames"] = old["peak_bytes"] / max(1, old["frame_bytes"])
    return result


if __name__ == "__main__":
    print(json.dumps(bench_windows(), indent=2))
