"""The sweep over allocation boundaries that finds availability windows."""

import datetime
import random

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


def _reader(allocations, duration, count, limit, looks=None):
    """``find`` for ``bounded``, reading ``allocations`` (``{host:
    [(start, end)]}`` in hours) the way the plugin's queries do: those
    meeting the look, and each host's first one at or after its end."""

    def find(look_end):
        if looks is not None:
            looks.append(look_end)
        busy = {
            h: [(_h(s), _h(e)) for s, e in sorted(w) if _h(e) > T0]
            for h, w in allocations.items()
        }
        busy = {
            h: [(s, e) for s, e in w if s < look_end] for h, w in busy.items()
        }
        following = {}
        for h, w in allocations.items():
            later = [_h(s) for s, _ in w if _h(s) >= look_end]
            if later:
                following[h] = min(later)
        found = availability.gaps(
            busy, duration, T0, look_end - duration, following
        )
        return availability.windows(found, count, limit)

    return find


def test_a_window_running_past_the_first_look_ends_the_answer():
    # Free from 0h for weeks: the first look settles nothing, but the
    # window has run a whole LOOK: its latest start is as far as looked.
    allocations = {1: [(1000, 1010)], 2: []}
    hour = datetime.timedelta(hours=1)
    looks = []
    find = _reader(allocations, hour, 1, 5, looks)
    found = availability.bounded(find, T0, _h(2000), hour, 5)
    assert looks == [T0 + availability.LOOK + hour]
    assert found == [
        {
            "start": T0,
            "latest_start": T0 + availability.LOOK,
            "free": 2,
            "free_until": None,
        }
    ]
    # The whole period's answer runs further, and is the same otherwise.
    [whole] = find(_h(2000))
    assert whole["latest_start"] == _h(1999)
    assert {**whole, "latest_start": found[0]["latest_start"]} == found[0]


def test_the_look_widens_until_the_earliest_windows_are_settled():
    # Both hosts busy for the first 10 days: nothing in the first look;
    # the second (4 weeks) finds the window from 240h, run 18 days.
    allocations = {1: [(0, 240)], 2: [(0, 240), (900, 950)]}
    hour = datetime.timedelta(hours=1)
    looks = []
    find = _reader(allocations, hour, 2, 5, looks)
    found = availability.bounded(find, T0, _h(2000), hour, 5)
    second = availability.WIDEN * availability.LOOK
    assert looks == [T0 + availability.LOOK + hour, T0 + second + hour]
    assert [(w["start"], w["latest_start"], w["free"]) for w in found] == [
        (_h(240), T0 + second, 2)
    ]
    assert found[0]["free_until"] == _h(900)


def test_a_short_period_is_read_whole():
    hour = datetime.timedelta(hours=1)
    looks = []
    find = _reader({1: [(5, 6)]}, hour, 1, 5, looks)
    assert availability.bounded(find, T0, _h(100), hour, 5) == find(_h(100))
    assert looks[0] == _h(100)


def test_bounded_looks_agree_with_the_whole_period():
    """Random schedules: what the bounded looks return is the whole
    period's answer, but for the last window's latest start when its
    range ran past a look (then at least LOOK after its start)."""
    rng = random.Random(13)
    hour = datetime.timedelta(hours=1)
    end = _h(24 * 60)
    truncated = 0
    for _ in range(300):
        allocations = {}
        for host in range(rng.randint(1, 6)):
            starts = rng.sample(range(0, 24 * 60), rng.randint(0, 12))
            allocations[host] = [
                (s, s + rng.randint(1, 24 * 5)) for s in sorted(starts)
            ]
        duration = hour * rng.choice((1, 4, 24, 72))
        count = rng.randint(1, 3)
        limit = rng.randint(1, 6)
        find = _reader(allocations, duration, count, limit)
        whole = find(end)
        got = availability.bounded(find, T0, end, duration, limit)
        assert got[:-1] == whole[: len(got) - 1]
        if got and got[-1] != whole[len(got) - 1]:
            last, full = got[-1], whole[len(got) - 1]
            assert {**full, "latest_start": last["latest_start"]} == last
            assert last["start"] + availability.LOOK <= last["latest_start"]
            assert last["latest_start"] < full["latest_start"]
            truncated += 1
        else:
            assert got == whole
    assert truncated > 10


def test_no_look_is_widened_when_find_says_none_can_fit():
    hour = datetime.timedelta(hours=1)
    looks = []

    def find(look_end):
        looks.append(look_end)

    assert availability.bounded(find, T0, _h(2000), hour, 5) == []
    assert looks == [T0 + availability.LOOK + hour]
    assert availability.bounded(find, T0, _h(10), hour, 5) == []
