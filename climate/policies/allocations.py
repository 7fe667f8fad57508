"""Policy defaults of the host allocations (which lease holds which host)."""

from climate.policies import base

rules = [
    base.api_rule(
        "climate:allocations:get",
        base.ADMIN,
        "List which reservations hold which hosts.",
        ("GET", "/v1/os-hosts/allocations"),
        ("GET", "/v1/os-hosts/{host_id}/allocation"),
    ),
]


def list_rules():
    return rules
