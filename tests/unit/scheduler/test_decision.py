"""The scheduler filter's decision (climate.scheduler.decision), without
nova."""

import subprocess
import sys

import pytest

from climate.scheduler import decision

OWNED = ("r-1", {"climate:owner": "p1", "availability_zone": "climate_r-1"})
FREE = ("freepool", {"climate:freepool": "true"})
OTHER = ("ssd", {"ssd": "true"})


@pytest.mark.parametrize(
    "aggregates, hints, project, passes",
    [
        ([], {}, "p1", True),  # outside Climate
        ([OTHER], {}, "p1", True),
        ([FREE], {}, "p1", False),  # free pool: never
        ([FREE], {"reservation": ["freepool"]}, "p1", False),
        ([("freepool", {})], {}, "p1", False),  # by name alone
        ([OWNED], {}, "p1", False),  # reserved, no hint
        ([OWNED, OTHER], {"reservation": ["r-1"]}, "p1", True),
        ([OWNED], {"reservation": "r-1"}, "p1", True),  # plain string
        ([OWNED], {"reservation": ["r-1"]}, "p2", False),  # not the owner
        ([OWNED], {"reservation": ["r-2"]}, "p1", False),  # another pool
        ([], {"reservation": ["r-1"]}, "p1", False),  # hinted, unreserved
        ([OWNED], {"reservation": []}, "p1", False),
        ([OWNED], None, "p1", False),
    ],
)
def test_host_passes(aggregates, hints, project, passes):
    assert decision.host_passes(aggregates, hints, project) is passes


def test_the_free_pool_name_is_configurable():
    assert decision.host_passes([("idle", {})], {}, "p1", "idle") is False
    assert decision.host_passes([("freepool", {})], {}, "p1", "idle")


def test_the_decision_imports_without_nova():
    code = (
        "import sys; sys.modules['nova'] = None; "
        "import climate.scheduler.decision"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
