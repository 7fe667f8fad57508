"""The interface of a usage enforcement filter."""

import abc


class UsageFilter(abc.ABC):
    """One limit on leases.

    A filter is built without arguments when the manager starts and reads
    its options from ``[enforcement]``; it raises ``ConfigurationError``
    there if they cannot work.
    """

    @abc.abstractmethod
    def check(self, context, lease, current=None):
        """Refuse ``lease`` if it breaks this filter's limit.

        Called on create (``current`` is None) and on every update (with
        ``current``, the lease before the update), inside the transaction
        that writes the lease: the limit must hold for the result, however
        the request got there.

        :param context: the caller's ``RequestContext``.
        :param lease: the lease as it would be stored, a dict as
            ``climate.db.api.lease_get`` returns it (naive UTC datetimes,
            reservations, events); its resources are already allocated in
            the open transaction, so database reads see them.
        :param current: the lease before the update, in the same form.
        :raises UsageNotAllowed: (a subclass) the limit would be broken.
        """

    def check_queued(self, context, lease):
        """Refuse a best-effort lease as it is queued, if this limit can
        tell without its window.  ``lease`` is QUEUED, its ``start_date``
        and ``end_date`` its earliest window (so its length is its
        duration), without reservations.  By default ``check`` judges it
        as a create; a filter whose limit depends on the window (or on
        resources allocated) overrides this to do nothing: ``check``
        judges it at placement.
        """
        self.check(context, lease, current=None)

    def on_end(self, context, lease):
        """Learn that ``lease`` has ended or was deleted (nothing by
        default).  Errors are logged and go no further."""
        return
