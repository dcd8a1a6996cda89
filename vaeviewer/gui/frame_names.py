"""Frames named as their source file numbers them, with the split beside the number.

The views address a window as (split, sequence, start): `sequence` is a part of the train/valid
split and `start` counts from that part's first frame. A researcher opens the file, so every
frame a view names goes through `FrameNames`: frame 71 of the validation part of a 400-frame
clip is "valid · clip frame 391 of 400" when the validation part starts at 320. Frames are
numbered from 0, as numpy (and napari) index a stack; the file's total is given beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

SPLITS = ("train", "valid")


@dataclass(frozen=True)
class FrameNames:
    """Where each split part sits in its source; empty (the default) when not known.

    Attributes:
        offsets: split -> per part, the file frame of the part's frame 0.
        sources: split -> per part, the index of its loaded sequence (file).
        names: per loaded sequence, its name (file stem, ``stem[i]``, ``stem:key``).
        lengths: per loaded sequence, its number of frames.
    """

    offsets: dict[str, tuple[int, ...]] = field(default_factory=dict)
    sources: dict[str, tuple[int, ...]] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    lengths: tuple[int, ...] = ()

    @classmethod
    def from_started(cls, started: Any) -> "FrameNames":
        """From an events.RunStarted (older ones without the source fields give an empty map)."""
        def get(name: str) -> tuple:
            return tuple(getattr(started, name, None) or ())

        return cls(offsets={"train": get("train_offsets"), "valid": get("valid_offsets")},
                   sources={"train": get("train_sources"), "valid": get("valid_sources")},
                   names=get("source_names"), lengths=get("source_lengths"))

    # ---- numbers ----------------------------------------------------------------------------
    def known(self, split: str, sequence: int) -> bool:
        """True when the part's place in its file is known."""
        return 0 <= int(sequence) < len(self.offsets.get(split, ()))

    def in_file(self, split: str, sequence, frame):
        """The 0-based frame number in the source file (works on numbers and on numpy arrays).

        Unknown parts keep the frame number within the part.
        """
        offsets = np.asarray(self.offsets.get(split, ()), dtype=np.int64)
        if np.ndim(sequence) == 0 and np.ndim(frame) == 0:
            return int(frame) + (int(offsets[int(sequence)]) if self.known(split, sequence) else 0)
        seq = np.asarray(sequence, dtype=np.int64)
        frames = np.asarray(frame, dtype=np.int64)
        if len(offsets) == 0:
            return frames.copy()
        inside = (seq >= 0) & (seq < len(offsets))
        return frames + np.where(inside, offsets[np.clip(seq, 0, len(offsets) - 1)], 0)

    def source_index(self, split: str, sequence: int) -> Optional[int]:
        sources = self.sources.get(split, ())
        return int(sources[int(sequence)]) if 0 <= int(sequence) < len(sources) else None

    def source_name(self, split: str, sequence: int) -> str:
        """The file's (or loaded sequence's) name; 'sequence i' of the split when not known."""
        i = self.source_index(split, sequence)
        if i is not None and i < len(self.names) and self.names[i]:
            return self.names[i]
        if i is not None:
            return f"sequence {i}"
        return f"sequence {int(sequence)}"

    def total(self, split: str, sequence: int) -> Optional[int]:
        """Frames in the part's source file, or None when not known."""
        i = self.source_index(split, sequence)
        return int(self.lengths[i]) if i is not None and i < len(self.lengths) else None

    # ---- words ------------------------------------------------------------------------------
    def describe(self, split: str, sequence: int, first: int, count: int = 1, total: bool = True) -> str:
        """'valid · clip frames 390–399 of 400' (or 'frame 390 of 400' for one frame).

        Without the source map: 'valid · sequence 0 frames 70–79' (numbers within the part).
        """
        a = self.in_file(split, sequence, first)
        frames = f"frame {a}" if count <= 1 else f"frames {a}–{a + count - 1}"
        n = self.total(split, sequence) if total else None
        of = f" of {n}" if n is not None and self.known(split, sequence) else ""
        name = self.source_name(split, sequence) if self.known(split, sequence) else f"sequence {int(sequence)}"
        return f"{split} · {name} {frames}{of}"
