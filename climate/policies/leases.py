"""Policy defaults of ``/v1/leases``.

The target of a rule is the lease's project (``project_id``); a listing's
target is the caller's own project.
"""

from climate.policies import base

PREFIX = "climate:leases:%s"

rules = [
    base.api_rule(
        PREFIX % "get",
        base.PROJECT_READER_OR_ADMIN,
        "List a project's leases, or show one lease.",
        ("GET", "/v1/leases"),
        ("GET", "/v1/leases/{lease_id}"),
    ),
    base.api_rule(
        PREFIX % "get:all_projects",
        base.ADMIN,
        "List the leases of every project (?all_projects=1), and show, "
        "change or delete a lease of another project by its id.",
        ("GET", "/v1/leases?all_projects=1"),
        ("GET", "/v1/leases/{lease_id}"),
    ),
    base.api_rule(
        PREFIX % "post",
        base.PROJECT_MEMBER_OR_ADMIN,
        "Create a lease for the caller's project.",
        ("POST", "/v1/leases"),
    ),
    base.api_rule(
        PREFIX % "put",
        base.PROJECT_MEMBER_OR_ADMIN,
        "Change a lease.",
        ("PUT", "/v1/leases/{lease_id}"),
    ),
    base.api_rule(
        PREFIX % "delete",
        base.PROJECT_MEMBER_OR_ADMIN,
        "Delete a lease.",
        ("DELETE", "/v1/leases/{lease_id}"),
    ),
    base.api_rule(
        PREFIX % "extension",
        base.PROJECT_READER_OR_ADMIN,
        "Show how far a lease's end could move now.",
        ("GET", "/v1/leases/{lease_id}/extension"),
    ),
    base.api_rule(
        "climate:availability:get",
        base.PROJECT_READER_OR_ADMIN,
        "Search when a reservation request would be granted, for the "
        "caller's project.",
        ("GET", "/v1/availability"),
    ),
]


def list_rules():
    return rules
