"""Stateful layout over groups of whole sequences (the classic recipe) and its fallback to streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.data.test_windows import frame_ids, tagged
from vaeviewer.data.windows import make_sequence_groups, make_stateful_plan
from vaeviewer.errors import VaeViewerError

FAST = settings(max_examples=60, deadline=None)


def walk(plan, seqs, rng=None):
    """[(reset, frame ids (B, T))] of one pass."""
    return [(reset, frame_ids(b)) for reset, b in plan.batches(seqs, rng)]


def check_pass(out, window, batch, lengths):
    """Every group: rows start at frame 0 of a sequence, row j of batch k+1 continues row j of batch
    k, resets exactly at group starts; returns [(members, n_windows)] of the pass's groups."""
    groups, prev = [], None
    for reset, ids in out:
        assert ids.shape == (batch, window)
        if reset:
            assert np.all(ids[:, 0] % 1000 == 0)      # every member from its first frame
            groups.append([ids[:, 0] // 1000, 0])
        else:
            np.testing.assert_array_equal(ids[:, 0], prev[:, -1] + 1)
        np.testing.assert_array_equal(ids[:, 0] // 1000, groups[-1][0])  # a row stays in its sequence
        assert np.all(np.diff(ids, axis=1) == 1)
        groups[-1][1] += 1
        prev = ids
    for members, k in groups:
        assert len(set(members.tolist())) == batch     # B different sequences
        assert k == min(lengths[m] for m in members) // window   # cut to the shortest member
    return groups


def test_moving_mnist_layout_is_whole_sequences():
    seqs = tagged([20] * 64)
    plan = make_stateful_plan(seqs, 10, 8)
    assert plan.layout == "sequences" and len(plan.groups) == 8 and plan.dropped_frames == 0
    assert plan.left_out == 0 and plan.n_batches() == 16
    assert plan.describe() == "stateful: 8 whole sequences per group, 8 groups, 0 frames dropped"
    out = walk(plan, seqs)
    check_pass(out, 10, 8, [20] * 64)
    # batch k holds window k of each member
    assert [int(ids[0, 0] % 1000) for _, ids in out[:2]] == [0, 10]
    assert [r for r, _ in out] == [True, False] * 8


@FAST
@given(lengths=st.lists(st.integers(3, 40), min_size=1, max_size=12), window=st.integers(1, 3),
       batch=st.integers(1, 5), seed=st.integers(0, 1000))
def test_groups_continue_row_by_row_and_reset_at_group_starts(lengths, window, batch, seed):
    seqs = tagged(lengths)
    if len(seqs) < batch:
        with pytest.raises(VaeViewerError, match="lower the batch size"):
            make_sequence_groups(seqs, window, batch)
        if min(lengths) >= batch * window:
            assert make_stateful_plan(seqs, window, batch).layout == "streams"
        return
    plan = make_sequence_groups(seqs, window, batch)
    assert plan.left_out == len(seqs) % batch and len(plan.groups) == len(seqs) // batch
    groups = check_pass(walk(plan, seqs), window, batch, lengths)
    used = np.concatenate([m for m, _ in groups]) if groups else np.zeros(0, int)
    assert len(set(used.tolist())) == len(used) == len(seqs) - plan.left_out
    assert plan.dropped_frames == sum(lengths[m] for m in used) - batch * window * plan.n_batches()
    # similar lengths together: sorted by length, the groups do not interleave
    spans = sorted((min(lengths[m] for m in g), max(lengths[m] for m in g)) for g, _ in groups)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    # a reshuffled pass keeps every property
    rng = np.random.default_rng(seed)
    check_pass(walk(plan, seqs, rng), window, batch, lengths)


def test_reshuffling_between_passes_changes_groups_never_sequence_order():
    lengths = [12] * 19                                  # 19 = 4 groups of 4 + 3 left out
    seqs = tagged(lengths)
    plan = make_stateful_plan(seqs, 3, 4)
    assert plan.layout == "sequences" and plan.left_out == 3
    assert "3 of 19 training sequences sit out each pass" in plan.describe()
    rng = np.random.default_rng(0)
    seen, memberships, orders = set(), set(), set()
    for _ in range(8):
        groups = check_pass(walk(plan, seqs, rng), 3, 4, lengths)
        members = [tuple(sorted(m.tolist())) for m, _ in groups]
        seen.update(s for m in members for s in m)
        memberships.add(frozenset(members))
        orders.add(tuple(members))
    assert seen == set(range(19))           # no sequence is left out for good
    assert len(memberships) > 1 and len(orders) > 1


def test_unequal_lengths_are_cut_to_the_shortest_member_and_counted():
    seqs = tagged([10, 11, 30, 31, 12, 33])      # B=2: (10, 11), (12, 30), (31, 33) sorted by length
    plan = make_stateful_plan(seqs, 5, 2)
    spans = [(sorted(int(len(seqs[i])) for i in g.sequence), g.n_batches) for g in plan.groups]
    assert spans == [([10, 11], 2), ([12, 30], 2), ([31, 33], 6)]
    assert plan.dropped_frames == (0 + 1) + (2 + 20) + (1 + 3)
    # leftovers: without an rng the shortest sequences sit out (the fewest frames lost)
    plan = make_stateful_plan(seqs[:5], 5, 2)
    assert plan.left_out == 1 and 0 not in np.concatenate([g.sequence for g in plan.groups])


def test_fewer_sequences_than_the_batch_keep_streams():
    seqs = tagged([100])
    plan = make_stateful_plan(seqs, 5, 4)
    assert plan.layout == "streams" and plan.groups[0].n_batches == 5 and plan.dropped_frames == 0
    assert plan.describe().startswith("stateful: 1 sequence cut into 4 streams of 5 windows")
    # an rng changes nothing about streams
    a = walk(plan, seqs)
    b = walk(plan, seqs, np.random.default_rng(3))
    assert all(ra == rb and np.array_equal(x, y) for (ra, x), (rb, y) in zip(a, b))
    with pytest.raises(VaeViewerError, match="give at least 4 training sequences"):
        make_stateful_plan(tagged([40, 12]), 5, 4)


def test_a_sequence_shorter_than_the_window_is_refused():
    with pytest.raises(VaeViewerError, match="sequence s1 has 3 frames, fewer than the window of 4"):
        make_sequence_groups(tagged([8, 3, 8]), 4, 2)
