"""`vaeviewer bench`: every performance figure of the project, measured side by side in one run.

One module per part (data, models, training, gui, probe), all timed by `benchmarks.clock`.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Optional

from vaeviewer.benchmarks.clock import now

PARTS = ("windows", "data", "models", "head", "session", "views", "verdict", "gui", "probe")


def _windows(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.data import bench_windows

    return bench_windows(max_batches=150) if quick else bench_windows()


def _data(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.data import bench_video_load

    # a 10,000-frame 768x576 video (about 150 MB, generated once into the temp folder and kept);
    # --quick: 1,000 frames, best of three
    return bench_video_load(n_frames=1000, repeats=3) if quick else bench_video_load(n_frames=10000, repeats=2)


def _models(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.models import bench_models

    steps = 8 if quick else 40
    # conv2d at the original model's batch of 128; the window models at 16 windows (160 frames)
    # a batch, which keeps the full bench to minutes on a 2-core machine. 40 steps: at 30 the
    # float32 and auto validation losses still differed by up to 3.4% for one seed (0.1% for
    # others), an early-training swing rather than a precision effect.
    result = bench_models(steps=steps, batch_size=128, variants=("conv2d",))
    windowed = bench_models(steps=steps, batch_size=16, variants=("conv3d", "convlstm"))
    result["variants"].update(windowed["variants"])
    result["batch_size"] = {"conv2d": 128, "conv3d": 16, "convlstm": 16}
    return result


def _head(quick: bool) -> dict[str, Any]:
    import sys

    from vaeviewer.benchmarks.head import bench_conv3d_head, format_table

    # The conv3d encoder heads (pool, flatten) side by side; the table goes to stderr, the JSON
    # (with ratios_pool_over_flatten) comes out with the other parts.
    result = bench_conv3d_head(quick=quick)
    print(format_table(result), file=sys.stderr, flush=True)
    return result


def _session(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.training import bench_session_overhead, bench_stateful

    return {"stateful": bench_stateful(quick=quick), "overhead": bench_session_overhead(quick=quick)}


def _views(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.training import bench_stateful_view

    return bench_stateful_view(quick=quick)


def _verdict(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.training import bench_compare_overhead, bench_first_verdict

    return {"first_verdict": bench_first_verdict(quick=quick), "compare_overhead": bench_compare_overhead(quick=quick)}


def _gui(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.gui import bench_gui

    return bench_gui(seconds=8 if quick else 20)


def _probe(quick: bool) -> dict[str, Any]:
    from vaeviewer.benchmarks.probe import bench_probe

    return bench_probe(quick=quick)


RUNNERS: dict[str, Callable[[bool], dict[str, Any]]] = {"windows": _windows, "data": _data, "models": _models, "head": _head, "session": _session, "views": _views,
                                                   "verdict": _verdict, "gui": _gui, "probe": _probe}


def run_bench(parts: Optional[list[str]] = None, quick: bool = False) -> dict[str, Any]:
    """Run the chosen benchmark parts (all by default) and return their figures as one dict."""
    from vaeviewer.errors import VaeViewerError

    chosen = parts or list(PARTS)
    unknown = [p for p in chosen if p not in RUNNERS]
    if unknown:
        raise VaeViewerError(f"bench: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    result: dict[str, Any] = {}
    for part in chosen:
        t0 = now()
        try:
            result[part] = RUNNERS[part](quick)
        except Exception as exc:  # one failing part must not hide the others' figures
            result[part] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
        result[part]["bench_seconds"] = round(now() - t0, 1)
    return result
