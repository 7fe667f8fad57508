"""Policy default of ``GET /metrics`` when ``[api] metrics_access`` is
``policy``."""

from climate.policies import base

rules = [
    base.api_rule(
        "climate:metrics:get",
        base.ADMIN,
        "Read the Prometheus metrics (only with [api] metrics_access = "
        "policy; open by default).",
        ("GET", "/metrics"),
    ),
]


def list_rules():
    return rules
