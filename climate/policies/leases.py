"""Policy defaults of ``/v1/leases``.

The target of a rule is the lease's project (``project_id``); a listing's
target is the caller's own project.
"""

from oslo_policy import policy

from climate.policies import base

PREFIX = "climate:leases:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "get",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="List a project's leases, or show one lease.",
        operations=[
            {"path": "/v1/leases", "method": "GET"},
            {"path": "/v1/leases/{lease_id}", "method": "GET"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name=PREFIX % "get:all_projects",
        check_str=base.ADMIN,
        description="List the leases of every project "
        "(?all_projects=1), and show, change or delete a lease of another "
        "project by its id.",
        operations=[
            {"path": "/v1/leases?all_projects=1", "method": "GET"},
            {"path": "/v1/leases/{lease_id}", "method": "GET"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name=PREFIX % "post",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Create a lease for the caller's project.",
        operations=[{"path": "/v1/leases", "method": "POST"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name=PREFIX % "put",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Change a lease.",
        operations=[{"path": "/v1/leases/{lease_id}", "method": "PUT"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Delete a lease.",
        operations=[{"path": "/v1/leases/{lease_id}", "method": "DELETE"}],
        scope_types=["project"],
    ),
]


def list_rules():
    return rules
