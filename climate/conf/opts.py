"""All of Climate's options, for oslo-config-generator (``climate``)."""

from climate.conf import api, compute, database, default, hosts, manager

_MODULES = (default, api, database, manager, compute, hosts)


def list_opts():
    """Return ``[(group, [opts])]`` for every group Climate defines."""
    merged = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in merged.items()]
