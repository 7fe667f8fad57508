"""How long loading an image takes, learned from the loads that worked.

The estimate of an image for a provisioning driver is a high percentile
(``[physical:host] estimate_percentile``, 90 by default) of the durations
of its latest successful loads by that driver (at most
``estimate_samples``, finished within ``estimate_lookback`` days), leaving
out loads shorter than ``estimate_min_load_time`` or longer than
``estimate_max_load_time``.  With fewer than ``estimate_min_samples``
such loads it is the image's default load time.

Why so: a mean would leave about half the hosts late; a high percentile
covers most loads, and the prepare margin covers the rest.  Only recent
loads count because images, drivers and hardware change.  Outliers are
left out because a load that did nothing, or a deploy that hung for
hours before going through, says nothing about the next one and would
drag the estimate off for months.  The duration of a load includes its
post-load (waiting for the OS), since the host is ready only then.
"""

import datetime
import math

from oslo_config import cfg

from climate import clock
from climate.plugins.hosts import conf
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF


def percentile(values, share):
    """The ``share`` percentile (0-100) of ``values``, nearest rank."""
    ordered = sorted(values)
    rank = max(math.ceil(share / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


def durations(image, driver):
    """The load durations the estimate of ``image`` by ``driver`` reads."""
    options = CONF[conf.GROUP.name]
    since = clock.now() - datetime.timedelta(days=options.estimate_lookback)
    return host_db.load_durations(
        image.id,
        driver,
        since,
        options.estimate_min_load_time,
        options.estimate_max_load_time,
        options.estimate_samples,
    )


def estimate(image, driver, samples=None):
    """Seconds a load of ``image`` by ``driver`` is expected to take.

    :param samples: the durations to use (default: read them).
    """
    options = CONF[conf.GROUP.name]
    if samples is None:
        samples = durations(image, driver)
    if len(samples) < options.estimate_min_samples:
        return float(image.default_load_time)
    return float(percentile(samples, options.estimate_percentile))
