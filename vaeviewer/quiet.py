"""Silence TensorFlow's native start-up chatter (absl lines written before logging is set up).

TF_CPP_MIN_LOG_LEVEL no longer reaches the lines TensorFlow prints while it loads and probes
for CUDA, so the file descriptor itself is redirected while that happens; what was written is
replayed if the import fails, so a real error is never hidden.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator

_done = False


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send fd 2 to a temporary file for the duration; replay it if an exception escapes."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture or an embedded interpreter
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        except BaseException:
            os.dup2(saved, fd)
            sink.seek(0)
            os.write(fd, sink.read())
            raise
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def import_tensorflow():
    """Import TensorFlow (and probe its devices once) without the native log lines; return tf."""
    global _done
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _done:
        import tensorflow as tf

        return tf
    with quiet_native_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    _done = True
    return tf
