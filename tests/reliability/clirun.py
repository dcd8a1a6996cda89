"""Run the real command line in a subprocess, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "QT_QPA_PLATFORM": "offscreen"}
TINY_TRAIN = ["--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
              "--batch-size", "8", "--precision", "float32", "--steps-per-epoch", "2"]


def vaeviewer(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vaeviewer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def assert_user_error(r: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 2, exactly one non-empty line on stderr, no traceback; the line holds `words`."""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, f"exit {r.returncode}, stderr: {r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {r.stderr[-2000:]}"
    assert lines[0].startswith("vaeviewer: error: "), lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    return lines[0]
