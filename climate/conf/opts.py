"""All of Climate's options, for oslo-config-generator (``climate``)."""

from climate.conf import (
    api,
    compute,
    database,
    default,
    enforcement,
    healthcheck,
    hosts,
    manager,
    nova,
    service_credentials,
)

#: Every option module, one per group.
MODULES = (
    default,
    api,
    database,
    manager,
    compute,
    hosts,
    enforcement,
    nova,
    service_credentials,
    healthcheck,
)


def list_opts():
    """Return ``[(group, [opts])]`` for every group Climate defines."""
    merged = {}
    for module in MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in merged.items()]
