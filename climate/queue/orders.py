"""Queue orders: which queued lease the scheduler tries first."""

import abc


class QueueOrder(abc.ABC):
    """Base of ``climate.queue.orders`` entry points."""

    @abc.abstractmethod
    def key(self, lease):
        """The sort key of a queued lease: smaller goes first.

        :param lease: a QUEUED lease's columns (``created_at``, ``id``,
            ``duration`` in seconds, ``not_before``...).
        :returns: a value comparable with the other leases' keys.
        """

    def sort(self, leases):
        """``leases`` in the order the scheduler tries them."""
        return sorted(leases, key=self.key)


class FirstComeFirstServed(QueueOrder):
    """Oldest request first (``fcfs``)."""

    def key(self, lease):
        return lease["created_at"], lease["id"]


class ShortestFirst(QueueOrder):
    """Shortest duration first, then oldest (``shortest_first``)."""

    def key(self, lease):
        return lease["duration"], lease["created_at"], lease["id"]
