"""Rules the per-resource defaults are built from.

Roles follow Keystone's defaults: ``reader``, ``member`` and ``admin``, where
Keystone's implied roles give every admin the member role and every member
the reader role.
"""

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"

rules = [
    policy.RuleDefault(
        "context_is_admin",
        "role:admin",
        description="Who is an administrator: may manage hosts and act on "
        "every project's leases.",
    ),
    policy.RuleDefault(
        "project_reader",
        "role:reader and project_id:%(project_id)s",
        description="A reader of the project that owns the target.",
    ),
    policy.RuleDefault(
        "project_member",
        "role:member and project_id:%(project_id)s",
        description="A member of the project that owns the target.",
    ),
    policy.RuleDefault(
        "project_reader_or_admin",
        "rule:project_reader or rule:context_is_admin",
        description="A reader of the target's project, or an administrator.",
    ),
    policy.RuleDefault(
        "project_member_or_admin",
        "rule:project_member or rule:context_is_admin",
        description="A member of the target's project, or an administrator.",
    ),
]


def list_rules():
    return rules


def api_rule(name, check_str, description, *operations):
    """The default of one API policy: who may call ``operations``, each a
    ``(method, path)`` pair, with project-scoped tokens."""
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check_str,
        description=description,
        operations=[
            {"path": path, "method": method} for method, path in operations
        ],
        scope_types=["project"],
    )
