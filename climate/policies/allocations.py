"""Policy defaults of the host allocations (which lease holds which host)."""

from oslo_policy import policy

from climate.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="climate:allocations:get",
        check_str=base.ADMIN,
        description="List which reservations hold which hosts.",
        operations=[
            {"path": "/v1/os-hosts/allocations", "method": "GET"},
            {"path": "/v1/os-hosts/{host_id}/allocation", "method": "GET"},
        ],
        scope_types=["project"],
    ),
]


def list_rules():
    return rules
