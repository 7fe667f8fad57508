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


INSTANCE_POOL = ("r-9", {"climate:owner": "p1"})
FLAVOR = {
    "climate:reservation": "r-9",
    "resources:CUSTOM_RESERVATION_R_9": "1",
}


@pytest.mark.parametrize(
    "aggregates, project, passes",
    [
        # An instance reservation's hosts stay in the free pool.
        ([FREE, INSTANCE_POOL], "p1", True),
        ([INSTANCE_POOL], "p1", True),
        ([FREE, INSTANCE_POOL], "p2", False),  # not the owner
        ([FREE], "p1", False),  # a host the reservation does not hold
        ([OWNED], "p1", False),  # another reservation's pool
        ([], "p1", False),  # outside Climate
    ],
)
def test_a_reservation_flavor_passes_only_on_its_pool(
    aggregates, project, passes
):
    assert (
        decision.host_passes(aggregates, {}, project, flavor_specs=FLAVOR)
        is passes
    )


def test_a_flavor_without_the_spec_decides_as_before():
    assert decision.host_passes([FREE], {}, "p1", flavor_specs={}) is False
    assert decision.host_passes([], {}, "p1", flavor_specs={"x": "1"})


def test_a_reserved_server_passes_on_its_pool_only():
    pool = ("r-5", {"climate:owner": "p1", "climate:server": "s-1"})
    assert decision.host_passes([FREE, pool], {}, "p1", instance_uuid="s-1")
    assert not decision.host_passes(
        [FREE, pool], {}, "p2", instance_uuid="s-1"
    )
    assert not decision.host_passes(
        [FREE, pool], {}, "p1", instance_uuid="s-2"
    )
    assert not decision.host_passes([FREE], {}, "p1", instance_uuid="s-1")
