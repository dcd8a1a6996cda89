"""Atomic file writes: write beside the target, fsync, then rename over it.

A crash, a kill or a full disk during the write leaves the previous file intact, never a
half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def plain_file_mode() -> int:
    """The mode a plain open() gives a new file: 0o666 with the process umask applied."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_target(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto `path`.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    # mkstemp makes the file private (0600); give it the mode a plain open() would (umask applied).
    os.fchmod(fd, plain_file_mode())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_target(path) as tmp:
        tmp.write_text(text)
