"""Windows, batches, the train/validation split and stateful streams (with hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaeviewer.data.sources import Sequence
from vaeviewer.data.windows import (
    WindowIndex,
    gather,
    iterate_batches,
    make_streams,
    make_windows,
    split_sequences,
    window_starts,
)
from vaeviewer.errors import VaeViewerError

FAST = settings(max_examples=60, deadline=None)
lengths_st = st.lists(st.integers(1, 60), min_size=1, max_size=5)


def tagged(lengths, h=1, w=1):
    """float32 sequences whose every pixel holds a unique id of (sequence, frame)."""
    seqs = []
    for i, n in enumerate(lengths):
        ids = (i * 1000 + np.arange(n, dtype=np.float32)) / 1e4
        seqs.append(Sequence(f"s{i}", np.ascontiguousarray(np.broadcast_to(ids[:, None, None], (n, h, w))), i, 0))
    return seqs


def frame_ids(batch):
    """(B, T) of (sequence*1000 + frame) from a batch of tagged frames."""
    return np.rint(batch[:, :, 0, 0, 0] * 1e4).astype(np.int64)


# ---- window_starts / make_windows ----------------------------------------------------------


def test_window_starts_examples():
    np.testing.assert_array_equal(window_starts(10, 3, 1), np.arange(8))
    np.testing.assert_array_equal(window_starts(10, 3, 3), [0, 3, 6])
    np.testing.assert_array_equal(window_starts(10, 10, 4), [0])
    assert window_starts(10, 3, 1).dtype == np.int64


@pytest.mark.parametrize("window, stride, word", [(0, 1, "window 0"), (3, 0, "stride 0"), (-2, 1, "window -2"),
                                                  (2.5, 1, "window 2.5"), (True, 1, "window True")])
def test_window_starts_bad_settings(window, stride, word):
    with pytest.raises(VaeViewerError, match=word):
        window_starts(10, window, stride)


def test_sequence_shorter_than_window_names_both_numbers():
    with pytest.raises(VaeViewerError, match=r"7 frames.*window of 9"):
        window_starts(7, 9, 1)
    with pytest.raises(VaeViewerError, match=r"sequence s1 has 4 frames, fewer than the window of 5"):
        make_windows(tagged([10, 4]), 5, 1)


@FAST
@given(n=st.integers(1, 200), window=st.integers(1, 30), stride=st.integers(1, 40))
def test_window_starts_cover_exactly_the_windows_inside(n, window, stride):
    if n < window:
        with pytest.raises(VaeViewerError):
            window_starts(n, window, stride)
        return
    starts = window_starts(n, window, stride)
    assert starts[0] == 0
    assert np.all(np.diff(starts) == stride)
    assert starts[-1] + window <= n  # inside
    assert starts[-1] + stride + window > n  # and no further window fits
    assert len(starts) == (n - window) // stride + 1


@FAST
@given(lengths=lengths_st, window=st.integers(1, 12), stride=st.integers(1, 12))
def test_make_windows_never_crosses_a_boundary(lengths, window, stride):
    lengths = [max(n, window) for n in lengths]
    seqs = tagged(lengths)
    index = make_windows(seqs, window, stride)
    assert index.sequence.dtype == np.int32 and index.start.dtype == np.int64
    assert len(index) == sum((n - window) // stride + 1 for n in lengths)
    ends = index.start + window
    assert np.all(index.start >= 0) and np.all(ends <= np.asarray(lengths)[index.sequence])
    covered = [set() for _ in lengths]
    for s, t in zip(index.sequence, index.start):
        covered[s].update(range(t, t + window))
    for n, c in zip(lengths, covered):
        if stride <= window:  # overlapping or touching windows leave no frame out but the tail
            assert c == set(range(((n - window) // stride) * stride + window))
    if stride == window:  # non-overlapping windows: disjoint frame sets
        assert sum(len(c) for c in covered) == len(index) * window


def test_make_windows_copies_no_frames():
    seqs = tagged([500], h=8, w=8)
    index = make_windows(seqs, 10, 1)
    assert index.sequence.nbytes + index.start.nbytes < 12 * 500 + 1


# ---- gather / iterate_batches --------------------------------------------------------------


def test_gather_uint8_scaled_per_batch_and_float_passed_through():
    rng = np.random.default_rng(0)
    u8 = Sequence("u8", rng.integers(0, 256, (20, 4, 6), dtype=np.uint8))
    f32 = Sequence("f32", rng.random((20, 4, 6), dtype=np.float32), 1)
    index = WindowIndex(np.array([0, 1, 0], np.int32), np.array([3, 5, 15], np.int64))
    batch = gather([u8, f32], index, np.array([2, 1, 0]), 5)
    assert batch.dtype == np.float32 and batch.shape == (3, 5, 4, 6, 1)
    np.testing.assert_allclose(batch[0, ..., 0], u8.frames[15:20] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batch[1, ..., 0], f32.frames[5:10])
    np.testing.assert_allclose(batch[2, ..., 0], u8.frames[3:8] / 255.0, rtol=1e-6)
    assert batch.min() >= 0.0 and batch.max() <= 1.0
    assert u8.frames.dtype == np.uint8  # stored frames untouched
    single = gather([u8, f32], make_windows([u8, f32], 1, 1), np.arange(4), 1)
    assert single.shape == (4, 1, 4, 6, 1)


@FAST
@given(lengths=lengths_st, window=st.integers(1, 6), stride=st.integers(1, 6), batch=st.integers(1, 9),
       shuffle=st.booleans(), drop=st.booleans(), seed=st.integers(0, 3))
def test_one_epoch_yields_every_window_once(lengths, window, stride, batch, shuffle, drop, seed):
    lengths = [max(n, window) for n in lengths]
    seqs = tagged(lengths)
    index = make_windows(seqs, window, stride)
    batches = list(iterate_batches(seqs, index, window, batch, shuffle, np.random.default_rng(seed), drop))
    got = np.concatenate([frame_ids(b) for b in batches]) if batches else np.zeros((0, window), np.int64)
    assert all(len(b) == batch for b in batches[:-1]) and (not drop or all(len(b) == batch for b in batches))
    assert np.all(np.diff(got, axis=1) == 1)  # consecutive frames of one sequence
    expected = {(int(s) * 1000 + int(t)) for s, t in zip(index.sequence, index.start)}
    firsts = [int(v) for v in got[:, 0]]
    assert len(set(firsts)) == len(firsts) and set(firsts) <= expected
    assert len(firsts) == (len(index) - len(index) % batch if drop else len(index))
    if not shuffle:
        assert firsts == sorted(firsts)


# ---- split ---------------------------------------------------------------------------------


@FAST
@given(lengths=st.lists(st.integers(20, 80), min_size=1, max_size=4), fraction=st.floats(0.0, 0.6),
       window=st.integers(1, 8))
def test_time_split_partitions_each_sequence_without_overlap(lengths, fraction, window):
    seqs = tagged(lengths)
    n_valid = [int(round(n * fraction)) for n in lengths]
    if fraction > 0 and any(v < window or n - v < window for n, v in zip(lengths, n_valid)):
        with pytest.raises(VaeViewerError, match="fewer than the window"):
            split_sequences(seqs, fraction, "time", min_frames=window)
        return
    train, valid = split_sequences(seqs, fraction, "time", min_frames=window)
    if fraction == 0:
        assert valid == []
        valid = [None] * len(train)
    for s, tr, va in zip(seqs, train, valid):
        assert tr.source_index == s.source_index and tr.offset == 0
        assert np.shares_memory(tr.frames, s.frames)  # a view, not a copy
        train_ids = set(np.rint(tr.frames[:, 0, 0] * 1e4).astype(int))
        if va is None:
            assert len(tr) == len(s)
            continue
        assert va.source_index == s.source_index and va.offset == len(tr)
        assert len(tr) + len(va) == len(s) and len(tr) >= window and len(va) >= window
        valid_ids = set(np.rint(va.frames[:, 0, 0] * 1e4).astype(int))
        assert not train_ids & valid_ids  # no frame in both, so no window can leak
        np.testing.assert_array_equal(va.frames, s.frames[va.offset:])
        assert va.frames.flags.c_contiguous and tr.frames.flags.c_contiguous


def test_time_split_too_short_parts_explain_the_fix():
    seqs = tagged([60])
    with pytest.raises(VaeViewerError, match=r"validation part of s0 has 12 frames, fewer than the window 16; "
                                             r"lower the window or raise --valid-fraction"):
        split_sequences(seqs, 0.2, "time", min_frames=16)
    with pytest.raises(VaeViewerError, match=r"training part of s0 has 6 frames.*--valid-fraction"):
        split_sequences(seqs, 0.9, "time", min_frames=10)


def test_sequence_split_takes_whole_last_sequences():
    seqs = tagged([10, 11, 12, 13, 14])
    train, valid = split_sequences(seqs, 0.3, "sequence")
    assert [s.name for s in train] == ["s0", "s1", "s2"] and [s.name for s in valid] == ["s3", "s4"]
    assert [s.source_index for s in valid] == [3, 4] and all(s.offset == 0 for s in valid)
    train, valid = split_sequences(seqs[:2], 0.8, "sequence")  # at least one stays for training
    assert len(train) == 1 and len(valid) == 1
    with pytest.raises(VaeViewerError, match="--split time"):
        split_sequences(seqs[:1], 0.2, "sequence")


@pytest.mark.parametrize("fraction", [-0.1, 1.0, float("nan"), "0.2"])
def test_split_bad_fraction(fraction):
    with pytest.raises(VaeViewerError, match="validation fraction"):
        split_sequences(tagged([50]), fraction)


def test_split_bad_mode():
    with pytest.raises(VaeViewerError, match="'random'"):
        split_sequences(tagged([50]), 0.2, "random")


def test_split_of_a_split_keeps_offsets():
    (seq,) = tagged([100])
    train, valid = split_sequences([seq], 0.2, "time")
    t2, v2 = split_sequences(train, 0.25, "time")
    assert v2[0].offset == 60 and len(v2[0]) == 20 and valid[0].offset == 80


# ---- stateful streams ----------------------------------------------------------------------


@FAST
@given(lengths=st.lists(st.integers(1, 200), min_size=1, max_size=4), window=st.integers(1, 8),
       batch=st.integers(1, 6))
def test_streams_are_contiguous_and_continue_row_by_row(lengths, window, batch):
    seqs = tagged(lengths)
    if any(n < batch * window for n in lengths):
        short = next(s for s in seqs if len(s) < batch * window)
        with pytest.raises(VaeViewerError, match=f"sequence {short.name} has {len(short)} frames"):
            make_streams(seqs, window, batch)
        return
    plan = make_streams(seqs, window, batch)
    assert plan.batch_size == batch and plan.window == window and len(plan.groups) == len(seqs)
    dropped = 0
    for i, (group, n) in enumerate(zip(plan.groups, lengths)):
        k = n // (batch * window)
        assert group.starts.shape == (batch, k) and np.all(group.sequence == i)
        assert np.all(np.diff(group.starts, axis=1) == window)  # window k+1 starts where k ends
        assert np.all(group.starts[1:, 0] == group.starts[:-1, -1] + window)  # streams tile the sequence
        assert group.starts[0, 0] == 0 and group.starts[-1, -1] + window <= n
        dropped += n - batch * k * window
        assert n - batch * k * window < batch * window
    assert plan.dropped_frames == dropped
    assert plan.n_batches() == sum(g.starts.shape[1] for g in plan.groups)
    out = list(plan.batches(seqs))
    assert len(out) == plan.n_batches()
    pos = 0
    for i, group in enumerate(plan.groups):
        for k in range(group.starts.shape[1]):
            reset, b = out[pos]
            pos += 1
            assert reset == (k == 0)
            assert b.shape == (batch, window, 1, 1, 1)
            np.testing.assert_array_equal(frame_ids(b)[:, 0], i * 1000 + group.starts[:, k])
            if k:  # row j continues row j of the previous batch
                np.testing.assert_array_equal(frame_ids(b)[:, 0], frame_ids(out[pos - 2][1])[:, -1] + 1)


def test_streams_too_short_suggests_what_works():
    with pytest.raises(VaeViewerError, match=r"s0 has 50 frames.*batch size of at most 5 or a smaller window"):
        make_streams(tagged([50]), 10, 8)
    with pytest.raises(VaeViewerError, match=r"window of at most 5 frames"):
        make_streams(tagged([5]), 10, 8)
    with pytest.raises(VaeViewerError, match="batch size 0"):
        make_streams(tagged([50]), 10, 0)
