"""Assemble the next batches in a helper thread while the model trains on the current one."""

from __future__ import annotations

import queue
import threading
from typing import Iterator


def prefetch(batches: Iterator, depth: int = 2) -> Iterator:
    """Assemble the next batches in a helper thread while the model trains on this one."""
    q: "queue.Queue" = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # hand the error to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="vaeviewer-batches", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
