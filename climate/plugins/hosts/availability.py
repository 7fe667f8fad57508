"""When would a physical:host request be granted, and how far can a
reservation's end move: computed from allocation boundaries.

A host can take a lease starting at ``s`` for ``d`` when no allocation
meets ``[s, s + d + cleaning)``, the window admission blocks
(``plugin._window``).  Between two allocations of a host lies a gap
``[g0, g1)``; the starts it allows are ``[g0, g1 - d - cleaning]``.  A
request for ``k`` hosts is granted at ``s`` when ``k`` hosts allow it,
so one sweep over the gaps' boundaries, sorted, finds every window:
no probing of time steps.

The sweep reads a bounded look first (``LOOK`` past the earliest start)
and widens it only while the earliest windows are not settled
(``bounded``): a search then reads the allocations of days, not of the
whole period.
"""

import datetime
import typing

#: How far past the earliest start a search looks first, and how long a
#: window's range of starts must have run, as far as looked, for the
#: search to stop there rather than look further for its end.
LOOK = datetime.timedelta(days=7)
#: How much wider each further look is.
WIDEN = 4


class _Gap(typing.NamedTuple):
    """Starts ``[first, last]`` a host allows; ``free_until`` is when its
    next allocation begins (None: nothing later).  A tuple: a search
    makes thousands."""

    first: datetime.datetime
    last: datetime.datetime
    free_until: datetime.datetime | None


def gaps(busy, need, first, last, next_starts=None):
    """The starts each host allows for a window of length ``need``.

    :param busy: ``{host: [(start, end)]}`` sorted by start.
    :param need: the window's length (the lease and its cleaning time).
    :param first: the earliest start wanted; ``last`` the latest.
    :param next_starts: ``{host: start}`` of each host's first
        allocation after the period read, for ``free_until``.
    :returns: ``[_Gap]``, unsorted.
    """
    next_starts = next_starts or {}
    found = []
    append = found.append
    for host, windows in busy.items():
        free_from = None  # free since forever
        for start, end in windows:
            if free_from is None or start > free_from:
                low = (
                    first
                    if free_from is None or free_from < first
                    else free_from
                )
                high = start - need
                if high > last:
                    high = last
                if low <= high:
                    append(_Gap(low, high, start))
            if free_from is None or end > free_from:
                free_from = end
        free_until = next_starts.get(host)
        low = first if free_from is None or free_from < first else free_from
        high = last if free_until is None else min(last, free_until - need)
        if low <= high:
            append(_Gap(low, high, free_until))
    return found


def windows(found, count, limit):
    """The earliest ranges of starts at which ``count`` hosts are free.

    :param found: what ``gaps`` returned.
    :returns: up to ``limit`` dicts, earliest first: ``start`` (the
        earliest start of the range), ``latest_start``, ``free`` (how
        many hosts allow ``start``) and ``free_until`` (the latest end,
        cleaning included, that ``count`` of them allow from ``start``;
        None when unbounded).
    """
    if not found:
        return []
    # Three sorted lists walked together rather than one list of events:
    # where gaps open, where they close, and where those open that run to
    # the end of the period (once ``count`` of them are open, the window
    # lasts to the end).
    horizon = max(g[1] for g in found)
    opens = sorted(g[0] for g in found)
    closes = sorted(g[1] for g in found)
    lasting = sorted(g[0] for g in found if g[1] == horizon)
    total, result = len(opens), []
    active = held = i = j = k = 0
    opened = None
    while j < total and len(result) < limit:
        instant = opens[i] if i < total and opens[i] < closes[j] else closes[j]
        # At one instant, a gap opening there counts before one whose
        # last start is there stops counting: that start is allowed.
        while i < total and opens[i] == instant:
            active += 1
            i += 1
        while k < len(lasting) and lasting[k] <= instant:
            held += 1
            k += 1
        if opened is None and active >= count:
            opened = instant
        if opened is not None and held >= count:
            result.append(_window(found, opened, horizon, count))
            break
        while j < total and closes[j] == instant:
            active -= 1
            j += 1
        if opened is not None and active < count:
            result.append(_window(found, opened, instant, count))
            opened = None
    return result


def _window(found, start, latest_start, count):
    """The window opening at ``start``: how many hosts allow it and how
    long ``count`` of them stay free."""
    ends = [until for first, last, until in found if first <= start <= last]
    # The count-th latest end; None (no later allocation) sorts last.
    ends.sort(key=lambda e: (e is None, e), reverse=True)
    return {
        "start": start,
        "latest_start": latest_start,
        "free": len(ends),
        "free_until": ends[count - 1],
    }


def bounded(find, start, end, duration, limit):
    """The windows of a period, reading only as far as needed.

    ``find(look_end)`` returns the windows (as ``windows`` does, up to
    ``limit``) of the starts from ``start`` to ``look_end - duration``,
    reading allocations only up to ``look_end``.  A window whose range
    of starts ends before the look's last start is settled: what lies
    later cannot change it.  The first look ends ``LOOK`` after
    ``start`` (plus the duration); a look is widened ``WIDEN`` times
    while fewer than ``limit`` windows are settled, unless the last
    window's range runs to the look's end having run ``LOOK`` or more:
    that window ends the answer, its ``latest_start`` as far as looked.
    The look never goes past ``end``, where the answer is the whole
    period's.  ``find`` returning None means no look can find a window
    (too few resources match at all): the answer is then empty.
    """
    look = LOOK
    while True:
        if end - start <= look + duration:
            return find(end) or []
        look_end = start + look + duration
        found = find(look_end)
        if found is None:
            return []
        last = look_end - duration
        if not found or found[-1]["latest_start"] < last:
            if len(found) >= limit:
                return found
        elif last - found[-1]["start"] >= LOOK:
            return found
        look *= WIDEN
