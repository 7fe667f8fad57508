"""Preemption policies: which lease may end which one early."""

import abc


class PreemptionPolicy(abc.ABC):
    """Base of ``climate.queue.preemption`` entry points."""

    @abc.abstractmethod
    def may_preempt(self, lease, victim):
        """Whether ``lease``, refused for want of capacity, may end
        ``victim`` early to get it.

        :param lease: the new lease's columns (``kind``, ``project_id``,
            ``start_date``...).
        :param victim: a preemptible lease overlapping its window.
        :returns: a bool.
        """


class AdvanceOverPreemptible(PreemptionPolicy):
    """Advance leases preempt preemptible ones (``advance``, the
    default)."""

    def may_preempt(self, lease, victim):
        return lease["kind"] == "advance" and victim["kind"] == "preemptible"


class NoPreemption(PreemptionPolicy):
    """Nothing is preempted: preemptible leases run as advance ones
    (``none``)."""

    def may_preempt(self, lease, victim):
        return False
