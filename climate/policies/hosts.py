"""Policy defaults of ``/v1/os-hosts``: the inventory is the operator's."""

from oslo_policy import policy

from climate.policies import base

PREFIX = "climate:oshosts:%s"


def _rule(action, description, method, path):
    return policy.DocumentedRuleDefault(
        name=PREFIX % action,
        check_str=base.ADMIN,
        description=description,
        operations=[{"path": path, "method": method}],
        scope_types=["project"],
    )


rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "get",
        check_str=base.ADMIN,
        description="List the hosts, or show one.",
        operations=[
            {"path": "/v1/os-hosts", "method": "GET"},
            {"path": "/v1/os-hosts/{host_id}", "method": "GET"},
        ],
        scope_types=["project"],
    ),
    _rule("post", "Register a host.", "POST", "/v1/os-hosts"),
    _rule(
        "put",
        "Change a host's capabilities.",
        "PUT",
        "/v1/os-hosts/{host_id}",
    ),
    _rule("delete", "Remove a host.", "DELETE", "/v1/os-hosts/{host_id}"),
    _rule(
        "properties:get",
        "List the host capability names in use.",
        "GET",
        "/v1/os-hosts/properties",
    ),
    _rule(
        "properties:patch",
        "Make a host capability private or public.",
        "PATCH",
        "/v1/os-hosts/properties/{property_name}",
    ),
]


def list_rules():
    return rules
