"""The sweep over allocation boundaries that finds availability windows."""

import datetime

from climate.plugins.hosts import availability

T0 = datetime.datetime(2030, 1, 1)


def _h(hours):
    return T0 + datetime.timedelta(hours=hours)


def _find(busy, need, first, last, count, limit=10, next_starts=None):
    found = availability.gaps(
        {h: [(_h(s), _h(e)) for s, e in w] for h, w in busy.items()},
        datetime.timedelta(hours=need),
        _h(first),
        _h(last),
        {h: _h(s) for h, s in (next_starts or {}).items()},
    )
    return [
        (
            w["start"],
            w["latest_start"],
            w["free"],
            w["free_until"],
        )
        for w in availability.windows(found, count, limit)
    ]


def test_back_to_back_allocations_leave_no_gap():
    # 2-4 and 4-6 touch: nothing fits between them.
    assert _find({1: [(2, 4), (4, 6)]}, 1, 0, 10, 1) == [
        (_h(0), _h(1), 1, _h(2)),
        (_h(6), _h(10), 1, None),
    ]


def test_overlapping_allocations_merge():
    assert _find({1: [(1, 5), (2, 3)]}, 1, 0, 10, 1) == [
        (_h(0), _h(0), 1, _h(1)),
        (_h(5), _h(10), 1, None),
    ]


def test_a_window_ending_exactly_at_the_next_allocation_fits():
    # Half-open windows: [1, 3) fits before an allocation from 3.
    assert _find({1: [(0, 1), (3, 9)]}, 2, 0, 8, 1)[0] == (
        _h(1),
        _h(1),
        1,
        _h(3),
    )


def test_windows_need_count_hosts_at_once():
    busy = {1: [(0, 2)], 2: [(3, 5)], 3: [(0, 6)]}
    # Two hosts for 1h: host 1 from 2h, host 2 until 3h: 2h-2h only
    # (a start at 2h ends at 3h), then from 5h.
    assert _find(busy, 1, 0, 12, 2) == [
        (_h(2), _h(2), 2, _h(3)),
        (_h(5), _h(12), 2, None),
    ]


def test_free_until_counts_the_hosts_beyond_the_period():
    assert _find({1: [], 2: []}, 1, 0, 4, 2, next_starts={1: 7, 2: 9}) == [
        (_h(0), _h(4), 2, _h(7)),
    ]


def test_the_limit_stops_the_sweep():
    busy = {1: [(1, 2), (3, 4), (5, 6)]}
    assert len(_find(busy, 0.5, 0, 10, 1, limit=2)) == 2
    assert _find({1: [(0, 10)]}, 1, 0, 5, 1) == []
