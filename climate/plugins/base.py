"""The resource plugin interface.

A plugin makes one ``resource_type`` reservable.  The manager calls it in two
places: inside the lease's create/update/delete transaction (``reserve``,
``update``, ``release``: admission and bookkeeping, no calls to the outside
world) and from the event loop, outside any transaction (``on_start``,
``before_end``, ``on_end``: acting on the cloud).

Every hook is idempotent: running it twice, or running it when the step
before it never ran, does no harm.  Lease and reservation arguments are the
plain dicts ``climate.db.api`` returns.
"""

import abc


class ResourcePlugin(abc.ABC):
    """Base of ``climate.resource.plugins`` entry points."""

    #: The ``resource_type`` of the reservations this plugin serves.
    resource_type: str = ""

    @abc.abstractmethod
    def reserve(self, context, lease, reservation, values):
        """Admit a new reservation and allocate its resources.

        Runs inside the lease's create transaction: whatever it writes
        through ``climate.db.api`` commits or rolls back with the lease.

        :param context: the request's ``RequestContext``.
        :param lease: the new lease (``start_date``, ``end_date``, ...).
        :param reservation: the new reservation row (``id``, ...).
        :param values: the reservation as requested, without
            ``resource_type``.
        :returns: the ``resource_id`` to record on the reservation.
        :raises Invalid: ``values`` are malformed (400).
        :raises NotEnoughResourcesAvailable: the capacity is not there for
            the whole window (409).
        """

    @abc.abstractmethod
    def update(self, context, lease, reservation, values):
        """Fit a reservation to a changed lease window or changed values.

        Runs inside the lease's update transaction.  ``lease`` carries the
        new dates; ``values`` the reservation's changed fields (possibly
        none, when only the window moved).

        :raises Invalid: ``values`` are malformed (400).
        :raises NotEnoughResourcesAvailable: the change cannot be satisfied
            (409); the transaction rolls back and nothing changes.
        """

    @abc.abstractmethod
    def release(self, lease, reservation):
        """Free what ``reserve`` allocated, as the lease is deleted.

        Runs inside the delete transaction, after ``on_end`` if the lease
        was active.  Idempotent.
        """

    @abc.abstractmethod
    def on_start(self, lease, reservation):
        """Hand the reserved resources over to the lease's project.

        Called by the event loop at the lease's start, outside any
        transaction.  Raise any exception to have the event retried.
        """

    @abc.abstractmethod
    def on_end(self, lease, reservation):
        """Take the resources back at the lease's end (or its deletion).

        Must also work when ``on_start`` never ran or only half ran.
        Raise any exception to have the event retried.
        """

    def before_end(self, lease, reservation):  # noqa: B027 (optional hook)
        """Act shortly before the end (snapshot, warn).  Default: nothing."""
        return None

    @classmethod
    def stages(cls):
        """The plugin's own lifecycle stages, beside the core's.

        :returns: ``climate.stages.Stage`` declarations (a ``prepare``
            before the start, a ``reclaim`` after the end...), each with
            an ``offset(lease, reservation)`` and a ``hook`` naming a
            method of the plugin.  Default: none.
        """
        return []

    def previous_holders(self, lease, reservation):
        """Leases that held what ``reservation`` is about to be handed.

        Before an acquiring stage (a start, an update) runs, the event
        runner waits until every lease named here has finished giving its
        resources back, so back-to-back leases never overlap on the cloud
        even when their events run at once.  Called outside any
        transaction.

        :returns: a set of lease ids; default: none.
        """
        return set()
