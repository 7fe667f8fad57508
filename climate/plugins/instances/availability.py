"""When an instance request would be granted: a sweep over the
allocations of the matching hosts, read once (``shares.timeline``).

It counts as admission does (``climate/plugins/hosts/db/shares.py``): a
host held whole anywhere in a window takes no instance then, and a
host's shares take room at the busiest moment of the window, where they
hold the most together.

Each host's allocations are first cut into *spans*: stretches in which
what the host holds is constant, each with how many instances of the
size fit then (none in a stretch held whole).  A window fits a host as
many instances as its tightest span met.  A lease of ``duration``
starting at ``t`` meets a span ``[s, e)`` when ``s < t + duration`` and
``t < e``, so what a start meets changes only when ``t`` reaches a
span's end (it is met no more) or passes ``s - duration`` (it is met
from then on).  Dates are whole minutes on the wire: a start a minute
after ``s - duration`` is the first that meets it.
"""

import bisect
import collections
import datetime
import itertools

MINUTE = datetime.timedelta(minutes=1)
SIZES = ("vcpus", "memory_mb", "local_gb")


def _fit(room, size):
    return max(0, min(r // s for r, s in zip(room, size, strict=True)))


def spans(hosts, allocations, size):
    """The allocations as spans ``(host, start, end, fit)``, by start:
    stretches of one host in which it holds the same, with how many
    instances of ``size`` fit then.  Stretches in which the host holds
    nothing, or nothing that costs an instance, are left out."""
    size = tuple(size[s] for s in SIZES)
    changes = collections.defaultdict(list)  # host -> [(when, sizes, sign)]
    for host, a_start, a_end, sizes in allocations:
        changes[host] += [(a_start, sizes, 1), (a_end, sizes, -1)]
    found = [
        span
        for host, host_changes in changes.items()
        for span in _host_spans(host, hosts[host], host_changes, size)
    ]
    found.sort(key=lambda span: span[1])
    return found


def _host_spans(host, capacity, changes, size):
    capacity = tuple(capacity[s] for s in SIZES)
    empty = _fit(capacity, size)
    used, whole = [0, 0, 0], 0
    opened = None  # (since, fit) of the stretch running
    changes.sort(key=lambda change: change[0])
    for when, together in itertools.groupby(changes, key=lambda c: c[0]):
        if opened is not None and opened[1] < empty:
            yield (host, opened[0], when, opened[1])
        for _, sizes, sign in together:
            if sizes is None:
                whole += sign
            else:
                used = [u + sign * s for u, s in zip(used, sizes, strict=True)]
        room = [c - u for c, u in zip(capacity, used, strict=True)]
        opened = (when, 0 if whole else _fit(room, size))


class _Load:
    """How many instances fit on each host beside the spans met, and
    together, kept up to date change by change (a search sweeps
    thousands of changes over thousands of hosts: plain dicts and
    integers, no loop over the hosts per change)."""

    def __init__(self, hosts, size, affinity):
        self._affinity = affinity
        size = tuple(size[s] for s in SIZES)
        self._empty = {
            h: _fit(tuple(capacity[s] for s in SIZES), size)
            for h, capacity in hosts.items()
        }
        # host -> Counter of the fits of the spans met (absent: none met)
        self._met = {}
        self._fit = dict(self._empty)
        # How many hosts have each fit, and their sum.
        self._fits = collections.Counter(self._fit.values())
        self._total = sum(self._fit.values())

    def copy(self):
        other = _Load.__new__(_Load)
        other._affinity, other._empty = self._affinity, self._empty
        other._met = {h: collections.Counter(m) for h, m in self._met.items()}
        other._fit = dict(self._fit)
        other._fits = collections.Counter(self._fits)
        other._total = self._total
        return other

    def change(self, host, fit, sign):
        """Count a span in which ``fit`` instances fit on ``host`` in
        (``sign`` 1) or out (-1)."""
        met = self._met.setdefault(host, collections.Counter())
        met[fit] += sign
        if not met[fit]:
            del met[fit]
        before = self._fit[host]
        after = min(met, default=self._empty[host])
        if not met:
            del self._met[host]
        if before != after:
            self._fit[host] = after
            fits = self._fits
            fits[before] -= 1
            if not fits[before]:
                del fits[before]
            fits[after] += 1
            self._total += after - before

    def free(self):
        """How many instances fit together, as ``affinity`` places them."""
        if self._affinity is True:
            return max(self._fits, default=0)
        if self._affinity is False:
            return len(self._fit) - self._fits.get(0, 0)
        return self._total


def windows(
    hosts, allocations, size, amount, affinity, start, end, duration, limit
):
    """Up to ``limit`` windows in ``[start, end)`` in which ``amount``
    instances of ``size`` fit for ``duration``: ``{start, latest_start,
    max_end, free}`` (``max_end`` None: nothing ever stops it).

    :param allocations: ``[(host, start, end, (vcpus, memory_mb,
        local_gb) or None for a whole host)]`` of every allocation on
        ``hosts`` ending after ``start``.
    """
    last = end - duration
    if last < start:
        return []
    load = _Load(hosts, size, affinity)
    cut = spans(hosts, allocations, size)
    changes = []  # (when, order, host, fit, sign)
    for host, s_start, s_end, fit in cut:
        if s_end <= start:
            continue
        if s_start - duration < start:
            load.change(host, fit, 1)  # met from the first start
        else:
            meets_from = s_start - duration + MINUTE
            if meets_from > last:
                continue
            changes.append((meets_from, 1, host, fit, 1))
        if s_end <= last:
            changes.append((s_end, 0, host, fit, -1))
    changes.sort(key=lambda c: (c[0], c[1]))
    found, opened = [], None
    points = [start, *sorted({c[0] for c in changes})]
    index = 0
    for point in points:
        while index < len(changes) and changes[index][0] <= point:
            _, _, host, fit, sign = changes[index]
            load.change(host, fit, sign)
            index += 1
        free = load.free()
        if free >= amount and opened is None:
            opened = (point, free, load.copy())
        elif free < amount and opened is not None:
            latest = max(point - MINUTE, opened[0])
            found.append(_window(opened, latest, cut, duration, amount))
            opened = None
            if len(found) >= limit:
                return found
    if opened is not None:
        found.append(_window(opened, last, cut, duration, amount))
    return found[:limit]


def _window(opened, latest, cut, duration, amount):
    at, free, load = opened
    return {
        "start": at,
        "latest_start": latest,
        "max_end": _max_end(at, load, cut, duration, amount),
        "free": free,
    }


def _max_end(at, load, cut, duration, amount):
    """How far a lease starting at ``at`` may run: the start of the first
    span (starting at or after its end) that would leave too little
    room."""
    first = bisect.bisect_left(cut, at + duration, key=lambda span: span[1])
    for host, s_start, _, fit in cut[first:]:
        load.change(host, fit, 1)
        if load.free() < amount:
            return s_start
    return None
