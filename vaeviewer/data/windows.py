"""Windows of T frames over sequences, the train/validation split, and stateful streams.

A window is a pair (sequence index, start frame) into a list of ``Sequence``; batches are
gathered from those index arrays on demand, so frames are never copied into windows and 8-bit
frames become float32 only one batch at a time. A window never crosses a sequence boundary.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vaeviewer.data.sources import Sequence
from vaeviewer.errors import VaeViewerError

_INV255 = np.float32(1.0 / 255.0)


def frames_to_float(frames: np.ndarray) -> np.ndarray:
    """Stored frames (uint8, or float32 already in [0, 1]) as float32 in [0, 1]."""
    if frames.dtype == np.uint8:
        return np.multiply(frames, _INV255, dtype=np.float32)
    return frames.astype(np.float32, copy=False)


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VaeViewerError(f"{name} {value!r}: must be a whole number of at least 1")
    return int(value)


def window_starts(n_frames: int, window: int, stride: int) -> np.ndarray:
    """Start frames of every window of `window` frames, `stride` apart, inside n_frames.

    Returns:
        int64 array ``0, stride, 2*stride, ...`` up to ``n_frames - window`` inclusive.

    Raises:
        VaeViewerError: window or stride below 1, or fewer frames than the window.
    """
    window = _check_positive("window", window)
    stride = _check_positive("stride", stride)
    if n_frames < window:
        raise VaeViewerError(
            f"a sequence of {n_frames} frames is shorter than the window of {window} frames; "
            "use a smaller window or longer sequences"
        )
    return np.arange(0, n_frames - window + 1, stride, dtype=np.int64)


@dataclass
class WindowIndex:
    """All windows as two parallel arrays: row i is (sequence[i], start[i])."""

    sequence: np.ndarray  # int32, index into the list of sequences
    start: np.ndarray  # int64, first frame of the window in that sequence

    def __len__(self) -> int:
        return int(self.start.shape[0])


def make_windows(sequences: list[Sequence], window: int, stride: int) -> WindowIndex:
    """Index every window of every sequence (never across sequences); no frames are copied."""
    window = _check_positive("window", window)
    stride = _check_positive("stride", stride)
    seq_parts, start_parts = [], []
    for i, seq in enumerate(sequences):
        if len(seq) < window:
            raise VaeViewerError(
                f"sequence {seq.name} has {len(seq)} frames, fewer than the window of {window}; "
                "lower the window (or drop that sequence)"
            )
        starts = window_starts(len(seq), window, stride)
        start_parts.append(starts)
        seq_parts.append(np.full(starts.shape[0], i, dtype=np.int32))
    if not start_parts:
        return WindowIndex(np.zeros(0, np.int32), np.zeros(0, np.int64))
    return WindowIndex(np.concatenate(seq_parts), np.concatenate(start_parts))


# A time split's validation part should hold this many windows (and at least USEFUL_VALID_FRAMES
# frames) before `auto` prefers it to a split by whole sequences: a single window scores one
# position per sequence, too few to compare variants on.
USEFUL_VALID_WINDOWS = 2
USEFUL_VALID_FRAMES = 10


def _time_parts(n: int, valid_fraction: float) -> tuple[int, int]:
    """(training, validation) frames of a time split of an n-frame sequence."""
    n_valid = int(round(n * valid_fraction))
    return n - n_valid, n_valid


def choose_split(sequences: list[Sequence], valid_fraction: float, min_frames: int = 1) -> str:
    """The split `auto` takes: "time" when it fits every sequence well, else "sequence".

    By time within each sequence when every sequence's validation part holds at least
    ``max(USEFUL_VALID_WINDOWS * min_frames, USEFUL_VALID_FRAMES)`` frames (so at least two
    windows) and its training part at least one window; otherwise by whole sequences when
    there are at least 2 sequences, each holding a window; otherwise by time when that is
    possible at all (a short but valid validation part), else "time" anyway, whose error says
    what to change. With no validation (fraction 0) the answer is "time" (nothing is held out).
    """
    if not sequences or not valid_fraction:
        return "time"
    useful = max(USEFUL_VALID_WINDOWS * min_frames, USEFUL_VALID_FRAMES)
    parts = [_time_parts(len(s), valid_fraction) for s in sequences]
    if all(v >= useful and t >= min_frames for t, v in parts):
        return "time"
    if len(sequences) >= 2 and all(len(s) >= min_frames for s in sequences):
        return "sequence"
    return "time"


def split_sequences(
    sequences: list[Sequence],
    valid_fraction: float,
    mode: str = "time",
    min_frames: int = 1,
) -> tuple[list[Sequence], list[Sequence]]:
    """Split into training and validation sequences without any frame in both.

    Args:
        valid_fraction: share of the data for validation, 0 <= f < 1 (0: no validation).
        mode: "time" takes the last `valid_fraction` of every sequence (rounded to whole
            frames) for validation; "sequence" takes the last ceil(f * S) whole sequences
            (at least one sequence always stays for training); "auto" takes the one
            `choose_split` picks.
        min_frames: the window; every part must hold at least this many frames.

    Returns:
        (train, valid); the parts are views of the frames with ``source_index`` and ``offset``
        pointing back at the loaded sequence.
    """
    if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)) \
            or not math.isfinite(valid_fraction) or not 0.0 <= valid_fraction < 1.0:
        raise VaeViewerError(f"validation fraction {valid_fraction!r}: must be from 0 to below 1")
    min_frames = _check_positive("window", min_frames)
    if mode not in ("auto", "time", "sequence"):
        raise VaeViewerError(f"split {mode!r}: must be 'auto', 'time' or 'sequence'")
    if not sequences:
        raise VaeViewerError("no sequences to split")
    if mode == "auto":
        mode = choose_split(sequences, valid_fraction, min_frames)

    def part(seq: Sequence, lo: int, hi: int) -> Sequence:
        return dataclasses.replace(seq, frames=seq.frames[lo:hi], offset=seq.offset + lo)

    def check(seq_name: str, which: str, n: int, hint: str) -> None:
        if n < min_frames:
            raise VaeViewerError(
                f"{which} part of {seq_name} has {n} frames, fewer than the window {min_frames}; "
                f"lower the window or {hint}"
            )

    if valid_fraction == 0:
        for s in sequences:
            check(s.name, "the training", len(s), "use longer sequences")
        return [part(s, 0, len(s)) for s in sequences], []

    if mode == "time":
        by_sequence = "; or split by whole sequences (--split sequence)" if len(sequences) >= 2 else ""
        train, valid = [], []
        for s in sequences:
            cut, n_valid = _time_parts(len(s), valid_fraction)
            check(s.name, "the validation", n_valid, "raise --valid-fraction" + by_sequence)
            check(s.name, "the training", cut, "lower --valid-fraction" + by_sequence)
            train.append(part(s, 0, cut))
            valid.append(part(s, cut, len(s)))
        return train, valid

    if len(sequences) < 2:
        raise VaeViewerError(
            f"a sequence split needs at least 2 sequences, but there is only {sequences[0].name}; "
            "use the time split (--split time) instead"
        )
    n_valid = min(len(sequences) - 1, math.ceil(valid_fraction * len(sequences)))
    for s in sequences:
        if len(s) < min_frames:
            raise VaeViewerError(
                f"sequence {s.name} has {len(s)} frames, fewer than the window {min_frames}; "
                "lower the window or drop that sequence"
            )
    cut = len(sequences) - n_valid
    return [part(s, 0, len(s)) for s in sequences[:cut]], [part(s, 0, len(s)) for s in sequences[cut:]]


def _gather_pairs(sequences: list[Sequence], seq_ids: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """float32 (B, T, H, W, 1) in [0, 1] for the windows (seq_ids[b], starts[b])."""
    if not sequences:
        raise VaeViewerError("no sequences to take windows from")
    h, w = sequences[0].frames.shape[1:]
    out = np.empty((len(starts), window, h, w, 1), dtype=np.float32)
    for b, (i, s) in enumerate(zip(seq_ids.tolist(), starts.tolist())):
        src = sequences[i].frames[s : s + window]
        if src.shape[0] != window:
            raise IndexError(f"window at frame {s} of {sequences[i].name} runs past its end")
        dst = out[b, ..., 0]
        if src.dtype == np.uint8:
            np.multiply(src, _INV255, out=dst)  # uint8 -> float32 only here, one batch at a time
        else:
            dst[...] = src
    return out


def gather(sequences: list[Sequence], index: WindowIndex, rows: np.ndarray, window: int) -> np.ndarray:
    """The windows at `rows` of `index` as a float32 batch (B, T, H, W, 1) in [0, 1].

    For window 1 the result is (B, 1, H, W, 1); a per-frame model squeezes axis 1.
    """
    rows = np.asarray(rows, dtype=np.int64)
    return _gather_pairs(sequences, index.sequence[rows], index.start[rows], window)


def iterate_batches(
    sequences: list[Sequence],
    index: WindowIndex,
    window: int,
    batch_size: int,
    shuffle: bool,
    rng: np.random.Generator | None = None,
    drop_remainder: bool = False,
) -> Iterator[np.ndarray]:
    """One epoch of batches over all windows of `index` (shuffled if asked)."""
    batch_size = _check_positive("batch size", batch_size)
    n = len(index)
    if shuffle:
        order = (rng if rng is not None else np.random.default_rng()).permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_remainder else n
    for lo in range(0, stop, batch_size):
        yield gather(sequences, index, order[lo : lo + batch_size], window)


# ---- stateful streams ------------------------------------------------------------------


@dataclass
class StreamGroup:
    """B parallel streams; batch k holds window k of every stream.

    Row j of batch k is the window starting at ``starts[j, k]`` of sequence ``sequence[j]``;
    ``starts[j, k + 1] == starts[j, k] + T``. Recurrent state is reset before each group.
    A group is either B whole sequences (each read from its first frame) or B contiguous
    pieces of one sequence.
    """

    sequence: np.ndarray  # (B,) int, which sequence each stream reads
    starts: np.ndarray  # (B, K) int64, start frame of window k of stream j

    @property
    def n_batches(self) -> int:
        return int(self.starts.shape[1])


@dataclass
class StreamPlan:
    """The stateful schedule: groups of B streams, windows of T frames, no overlap.

    ``layout`` is "sequences" (each group is B whole sequences, the classic recipe; the
    groups are formed anew, in a new order, for every pass when `batches` gets an rng) or
    "streams" (each sequence cut into B contiguous streams: fewer sequences than B).
    """

    groups: list[StreamGroup]
    batch_size: int
    window: int
    dropped_frames: int  # frames that fit no window of a group (ends of sequences), per pass
    layout: str = "streams"
    left_out: int = 0    # "sequences": sequences in no group of a pass (S mod B), a different set each pass
    n_sequences: int = 0

    def n_batches(self) -> int:
        """Batches in one pass over all groups."""
        return sum(g.n_batches for g in self.groups)

    def batches(self, sequences: list[Sequence], rng: np.random.Generator | None = None
                ) -> Iterator[tuple[bool, np.ndarray]]:
        """Yield (reset_before, batch) in order; reset_before is True at each group's start.

        With `rng` and the "sequences" layout, the groups of this pass are drawn afresh: which
        sequences form them, which sit out and the order of the groups change; the order of
        the windows inside a sequence never does.
        """
        groups = self.groups
        if rng is not None and self.layout == "sequences":
            groups = make_sequence_groups(sequences, self.window, self.batch_size, rng).groups
        for group in groups:
            for k in range(group.n_batches):
                yield k == 0, _gather_pairs(sequences, group.sequence, group.starts[:, k], self.window)

    def describe(self) -> str:
        """One line for the console and the app: the layout, the groups and what is left out."""
        groups = f"{len(self.groups)} group{'' if len(self.groups) == 1 else 's'}"
        dropped = f"{self.dropped_frames} frame{'' if self.dropped_frames == 1 else 's'} dropped"
        if self.layout == "sequences":
            text = f"stateful: {self.batch_size} whole sequences per group, {groups}, {dropped}"
            if self.left_out:
                text += (f"; {self.left_out} of {self.n_sequences} training sequences sit out each pass "
                         "(a different set each pass)")
            return text
        if len(self.groups) == 1:
            what = f"1 sequence cut into {self.batch_size} streams of {self.groups[0].n_batches} windows"
        else:
            what = f"{len(self.groups)} sequences, each cut into {self.batch_size} streams"
        return f"stateful: {what} (fewer sequences than the batch size), {groups}, {dropped}"


def make_sequence_groups(sequences: list[Sequence], window: int, batch_size: int,
                         rng: np.random.Generator | None = None) -> StreamPlan:
    """Groups of `batch_size` whole sequences; row j of batch k is window k of member j.

    Sequences of similar length are grouped (sorted by length) and each group is cut to its
    shortest member in whole windows. S mod B sequences sit out: without `rng` the shortest
    ones (the fewest frames lost), with `rng` a random set, the members of equal-length
    groups are shuffled and the groups come in a random order.

    Raises:
        VaeViewerError: fewer sequences than `batch_size`, or a sequence shorter than the window.
    """
    window = _check_positive("window", window)
    batch_size = _check_positive("batch size", batch_size)
    n_seq = len(sequences)
    if n_seq < batch_size:
        raise VaeViewerError(f"{n_seq} sequences cannot fill a group of {batch_size} whole sequences; "
                             "lower the batch size")
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    short = np.flatnonzero(lengths < window)
    if short.size:
        s = sequences[int(short[0])]
        raise VaeViewerError(f"sequence {s.name} has {len(s)} frames, fewer than the window of {window}; "
                             "lower the window (or drop that sequence)")
    n_left = n_seq % batch_size
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        kept = order[n_left:]
    else:
        # A random tie-break shuffles sequences of equal length between groups.
        kept = rng.permutation(n_seq)[n_left:]
        kept = kept[np.argsort(lengths[kept], kind="stable")]
    groups, dropped = [], 0
    for lo in range(0, len(kept), batch_size):
        members = kept[lo:lo + batch_size]
        k = int(lengths[members].min()) // window
        starts = np.broadcast_to(np.arange(k, dtype=np.int64) * window, (batch_size, k)).copy()
        groups.append(StreamGroup(members.astype(np.int64), starts))
        dropped += int(lengths[members].sum()) - batch_size * k * window
    if rng is not None:
        groups = [groups[i] for i in rng.permutation(len(groups))]
    return StreamPlan(groups, batch_size, window, dropped, layout="sequences", left_out=n_left, n_sequences=n_seq)


def make_stateful_plan(sequences: list[Sequence], window: int, batch_size: int) -> StreamPlan:
    """The stateful layout of `sequences`: whole sequences per group when there are at least
    `batch_size` of them (`make_sequence_groups`), else B streams of each (`make_streams`)."""
    batch_size = _check_positive("batch size", batch_size)
    if len(sequences) >= batch_size:
        return make_sequence_groups(sequences, window, batch_size)
    return make_streams(sequences, window, batch_size)


def make_streams(sequences: list[Sequence], window: int, batch_size: int) -> StreamPlan:
    """Cut each sequence into `batch_size` contiguous streams of whole windows.

    Each stream gets K = N // (B * T) windows; the remaining N - B*K*T frames at the end of the
    sequence are dropped and counted in ``dropped_frames``. One group per sequence.
    """
    window = _check_positive("window", window)
    batch_size = _check_positive("batch size", batch_size)
    groups, dropped = [], 0
    for i, seq in enumerate(sequences):
        n = len(seq)
        k = n // (batch_size * window)
        if k < 1:
            # With at least B training sequences each batch row is a whole sequence, so a batch
            # of up to the number of training sequences fits; so does one of up to n // T streams
            # when every sequence holds that many (the shortest decides, not just this one).
            fits_all = min(len(other) for other in sequences) // window
            max_b = max(fits_all, len(sequences) if len(sequences) > 1 else 0)
            fix = (f"use a batch size of at most {max_b} or a smaller window" if max_b >= 1
                   else f"use a window of at most {n} frames")
            if len(sequences) > 1:
                fix += (f", or give at least {batch_size} training sequences (there are {len(sequences)} after "
                        "the validation split; then each batch row is one whole sequence)")
            raise VaeViewerError(
                f"sequence {seq.name} has {n} frames, too few for stateful training with "
                f"{batch_size} streams of at least one window of {window} frames "
                f"(needs {batch_size * window}); {fix}"
            )
        stream_len = k * window
        starts = (np.arange(batch_size, dtype=np.int64)[:, None] * stream_len
                  + np.arange(k, dtype=np.int64)[None, :] * window)
        groups.append(StreamGroup(np.full(batch_size, i, dtype=np.int64), starts))
        dropped += n - batch_size * stream_len
    return StreamPlan(groups, batch_size, window, dropped, layout="streams", n_sequences=len(sequences))
