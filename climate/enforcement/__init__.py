"""Usage enforcement: the operator's limits on leases.

Filters are plugins (stevedore group ``climate.enforcement.filters``),
enabled by ``[enforcement] enabled_filters``.  The lease manager asks the
``UsageEnforcer`` on every create and update, inside the transaction that
writes the lease and after its resources are chosen, so a filter sees the
lease exactly as it would be stored and a refusal rolls everything back.
"""

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import extension

from climate import exceptions

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

NAMESPACE = "climate.enforcement.filters"


class UsageEnforcer:
    """Runs every enabled filter in order; the first refusal wins.

    :param filters: ``UsageFilter`` instances.
    """

    def __init__(self, filters=()):
        self.filters = list(filters)

    @classmethod
    def from_config(cls):
        """The filters ``[enforcement] enabled_filters`` names.

        :raises ConfigurationError: a name is not installed, or a filter's
            options cannot work.
        """
        names = CONF.enforcement.enabled_filters
        available = extension.ExtensionManager(NAMESPACE)
        installed = {ext.name: ext.plugin for ext in available}
        missing = [name for name in names if name not in installed]
        if missing:
            raise exceptions.ConfigurationError(
                reason=f"[enforcement] enabled_filters names "
                f"{', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not installed; "
                f"installed filters: {', '.join(sorted(installed)) or 'none'}"
            )
        return cls(installed[name]() for name in dict.fromkeys(names))

    def check_create(self, context, lease):
        """Refuse a new lease that breaks a limit.

        :param lease: the lease as it would be stored (a dict as
            ``climate.db.api.lease_get`` returns it), its resources
            allocated in the open transaction.
        :raises UsageNotAllowed: a filter refused (403).
        :raises ExternalServiceUnavailable: a filter could not decide.
        """
        for usage_filter in self.filters:
            usage_filter.check(context, lease, current=None)

    def check_queued(self, context, lease):
        """Refuse a best-effort lease being queued (or its request changed
        while QUEUED) by the limits that need no window: each filter's
        ``check_queued``.  ``lease`` is the QUEUED lease, its
        ``start_date``/``end_date`` its earliest window, no reservations.
        At placement ``check_create`` judges it all.

        :raises UsageNotAllowed: (403)
        """
        for usage_filter in self.filters:
            usage_filter.check_queued(context, lease)

    def check_update(self, context, current, lease):
        """Refuse an update that would break a limit; as ``check_create``,
        with ``current`` the lease as it was before the update."""
        for usage_filter in self.filters:
            usage_filter.check(context, lease, current=current)

    def on_end(self, context, lease):
        """Tell every filter a lease has ended; failures are only logged."""
        for usage_filter in self.filters:
            try:
                usage_filter.on_end(context, lease)
            except Exception:
                LOG.exception(
                    "enforcement filter %s failed on the end of lease %s",
                    type(usage_filter).__name__,
                    lease.get("id"),
                )
