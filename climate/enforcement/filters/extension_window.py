"""``extension_window``: when and by how much a started lease may grow."""

import datetime

from oslo_config import cfg

from climate import exceptions, states
from climate.common import dates
from climate.enforcement import base

CONF = cfg.CONF


class ExtensionWindowFilter(base.UsageFilter):
    """A lease that has started may be extended only during its last
    ``[enforcement] extension_window`` minutes, by at most ``[enforcement]
    max_extension`` minutes per update.  Leases that have not started are
    left to the other limits."""

    def check(self, context, lease, current=None):
        if current is None or current["status"] != states.LeaseStatus.ACTIVE:
            return
        extension = lease["end_date"] - current["end_date"]
        if extension <= datetime.timedelta(0):
            return
        window = CONF.enforcement.extension_window
        if window:
            length = datetime.timedelta(minutes=window)
            opens = current["end_date"] - length
            if dates.utcnow() < opens:
                raise exceptions.ExtensionNotAllowed(
                    reason=f"Lease {current['id']} can be extended only in "
                    f"its last {dates.format_duration(length)}, from "
                    f"{opens:%Y-%m-%d %H:%M} UTC"
                )
        most = CONF.enforcement.max_extension
        if most and extension > datetime.timedelta(minutes=most):
            raise exceptions.ExtensionNotAllowed(
                reason=f"Lease {current['id']} may be extended by at most "
                f"{dates.format_duration(datetime.timedelta(minutes=most))} "
                f"at a time, not {dates.format_duration(extension)}"
            )
