"""Policy defaults of ``/v1/os-hosts``: the inventory is the operator's.

``climate:oshosts:*`` for the hosts and their properties,
``climate:allocations:get`` for which reservation holds which host.
"""

from climate.policies import base

PREFIX = "climate:oshosts:%s"


def _rule(action, description, *operations):
    return base.api_rule(PREFIX % action, base.ADMIN, description, *operations)


rules = [
    _rule(
        "get",
        "List the hosts, or show one.",
        ("GET", "/v1/os-hosts"),
        ("GET", "/v1/os-hosts/{host_id}"),
    ),
    _rule("post", "Register a host.", ("POST", "/v1/os-hosts")),
    _rule(
        "put",
        "Change a host's capabilities.",
        ("PUT", "/v1/os-hosts/{host_id}"),
    ),
    _rule("delete", "Remove a host.", ("DELETE", "/v1/os-hosts/{host_id}")),
    _rule(
        "properties:get",
        "List the host capability names in use.",
        ("GET", "/v1/os-hosts/properties"),
    ),
    _rule(
        "properties:patch",
        "Make a host capability private or public.",
        ("PATCH", "/v1/os-hosts/properties/{property_name}"),
    ),
    base.api_rule(
        "climate:allocations:get",
        base.ADMIN,
        "List which reservations hold which hosts.",
        ("GET", "/v1/os-hosts/allocations"),
        ("GET", "/v1/os-hosts/{host_id}/allocation"),
    ),
]


def list_rules():
    """The plugin's rules, in the order the sample lists them."""
    return rules
