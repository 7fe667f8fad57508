"""Policy defaults of ``/v1/os-hosts``: the inventory is the operator's.

``climate:oshosts:*`` for the hosts and their properties,
``climate:allocations:get`` for which reservation holds which host,
``climate:images:*`` (readers may read) and ``climate:blocks:*``
(operators; a group's manager by a policy file) for provisioning.
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
    base.api_rule(
        PREFIX % "properties:get",
        base.PROJECT_READER_OR_ADMIN,
        "List the host capability names in use and their values, to "
        "write resource_properties; private ones are shown to callers "
        "allowed climate:oshosts:properties:get:private only.",
        ("GET", "/v1/os-hosts/properties"),
    ),
    base.api_rule(
        PREFIX % "calendar",
        base.PROJECT_READER_OR_ADMIN,
        "Show the hosts and when they are busy (the web calendar): the "
        "caller's own leases by name, others' as busy only.",
        ("GET", "/v1/os-hosts/calendar"),
    ),
    _rule(
        "properties:get:private",
        "See private host capabilities, and which are private, in the "
        "list of properties.",
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
    base.api_rule(
        "climate:images:get",
        base.PROJECT_READER_OR_ADMIN,
        "List the images hosts can be prepared with, or show one and its "
        "learned load time.",
        ("GET", "/v1/images"),
        ("GET", "/v1/images/{image_id}"),
    ),
    base.api_rule(
        "climate:images:post",
        base.ADMIN,
        "Register an image.",
        ("POST", "/v1/images"),
    ),
    base.api_rule(
        "climate:images:delete",
        base.ADMIN,
        "Delete an image.",
        ("DELETE", "/v1/images/{image_id}"),
    ),
    base.api_rule(
        "climate:blocks:get",
        base.ADMIN,
        "List block allocations, or show one.",
        ("GET", "/v1/blocks"),
        ("GET", "/v1/blocks/{block_id}"),
    ),
    base.api_rule(
        "climate:blocks:post",
        base.ADMIN,
        "Create a block allocation (machines with one image for a group, "
        "in time slots).",
        ("POST", "/v1/blocks"),
    ),
    base.api_rule(
        "climate:blocks:delete",
        base.ADMIN,
        "Cancel a block allocation's future slots.",
        ("DELETE", "/v1/blocks/{block_id}"),
    ),
]


def list_rules():
    """The plugin's rules, in the order the sample lists them."""
    return rules
