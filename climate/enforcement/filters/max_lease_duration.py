"""``max_lease_duration``: no lease longer than the operator allows."""

import datetime

from oslo_config import cfg

from climate import exceptions
from climate.common import dates
from climate.enforcement import base

CONF = cfg.CONF


class MaxLeaseDurationFilter(base.UsageFilter):
    """Refuses a lease whose window is longer than ``[enforcement]
    max_lease_duration`` minutes, unless its project is exempt.  An update
    is measured like a create (the whole new window), so extending a lease
    bit by bit cannot go past the limit."""

    def check(self, context, lease, current=None):
        limit = CONF.enforcement.max_lease_duration
        if not limit:
            return
        if lease["project_id"] in (
            CONF.enforcement.max_lease_duration_exempt_project_ids
        ):
            return
        duration = lease["end_date"] - lease["start_date"]
        longest = datetime.timedelta(minutes=limit)
        if duration > longest:
            raise exceptions.MaxLeaseDurationExceeded(
                duration=dates.format_duration(duration),
                limit=dates.format_duration(longest),
            )
