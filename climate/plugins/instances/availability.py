"""When an instance request would be granted: a sweep over the
allocations of the matching hosts, read once (``shares.timeline``).

It counts as admission does (``climate/plugins/hosts/db/shares.py``): a
host held whole anywhere in a window takes no instance then, and the
shares meeting a window count together.  A lease of ``duration`` starting
at ``t`` meets an allocation ``[s, e)`` when ``s < t + duration`` and
``t < e``, so what a start meets changes only when ``t`` reaches an
allocation's end (it is met no more) or passes ``s - duration`` (it is
met from then on).  Dates are whole minutes on the wire: a start a minute
after ``s - duration`` is the first that meets it.
"""

import bisect
import collections
import datetime

MINUTE = datetime.timedelta(minutes=1)
SIZES = ("vcpus", "memory_mb", "local_gb")


class _Load:
    """What the allocations met hold of each host, and how many
    instances of one size fit beside them, kept up to date change by
    change (a search sweeps thousands of changes over thousands of
    hosts: plain lists and integers, no per-change loops)."""

    def __init__(self, hosts, size, affinity):
        self._affinity = affinity
        self._size = tuple(size[s] for s in SIZES)
        # host -> [free vcpus, free memory, free disk, times held whole]
        self._room = {
            h: [*(capacity[s] for s in SIZES), 0]
            for h, capacity in hosts.items()
        }
        self._fit = {h: self._fit_of(room) for h, room in self._room.items()}
        # How many hosts have each fit, and their sum.
        self._fits = collections.Counter(self._fit.values())
        self._total = sum(self._fit.values())

    def copy(self):
        other = _Load.__new__(_Load)
        other._affinity, other._size = self._affinity, self._size
        other._room = {h: list(room) for h, room in self._room.items()}
        other._fit = dict(self._fit)
        other._fits = collections.Counter(self._fits)
        other._total = self._total
        return other

    def _fit_of(self, room):
        if room[3]:
            return 0
        v, m, d = self._size
        return max(0, min(room[0] // v, room[1] // m, room[2] // d))

    def change(self, host, sizes, sign):
        """Count an allocation in (``sign`` 1) or out (-1); ``sizes`` is
        a (vcpus, memory, disk) tuple, or None for a whole host."""
        room = self._room[host]
        if sizes is None:
            room[3] += sign
        else:
            room[0] -= sign * sizes[0]
            room[1] -= sign * sizes[1]
            room[2] -= sign * sizes[2]
        before, after = self._fit[host], self._fit_of(room)
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
        ``hosts`` ending after ``start``, by start.
    """
    last = end - duration
    if last < start:
        return []
    load = _Load(hosts, size, affinity)
    changes = []  # (when, order, host, sizes, sign)
    for host, a_start, a_end, sizes in allocations:
        if a_end <= start:
            continue
        if a_start - duration < start:
            load.change(host, sizes, 1)  # met from the first start
        else:
            meets_from = a_start - duration + MINUTE
            if meets_from > last:
                continue
            changes.append((meets_from, 1, host, sizes, 1))
        if a_end <= last:
            changes.append((a_end, 0, host, sizes, -1))
    changes.sort(key=lambda c: (c[0], c[1]))
    found, opened = [], None
    points = [start, *sorted({c[0] for c in changes})]
    index = 0
    for point in points:
        while index < len(changes) and changes[index][0] <= point:
            _, _, host, sizes, sign = changes[index]
            load.change(host, sizes, sign)
            index += 1
        free = load.free()
        if free >= amount and opened is None:
            opened = (point, free, load.copy())
        elif free < amount and opened is not None:
            latest = max(point - MINUTE, opened[0])
            found.append(
                _window(opened, latest, allocations, duration, amount)
            )
            opened = None
            if len(found) >= limit:
                return found
    if opened is not None:
        found.append(_window(opened, last, allocations, duration, amount))
    return found[:limit]


def _window(opened, latest, allocations, duration, amount):
    at, free, load = opened
    return {
        "start": at,
        "latest_start": latest,
        "max_end": _max_end(at, load, allocations, duration, amount),
        "free": free,
    }


def _max_end(at, load, allocations, duration, amount):
    """How far a lease starting at ``at`` may run: the start of the first
    allocation (starting at or after its end) that would leave too
    little room."""
    first = bisect.bisect_left(allocations, at + duration, key=lambda a: a[1])
    for host, a_start, _, sizes in allocations[first:]:
        load.change(host, sizes, 1)
        if load.free() < amount:
            return a_start
    return None
