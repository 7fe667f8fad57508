"""ClimateFilter (climate.scheduler.filters) as nova-scheduler calls it,
and its import without nova."""

import subprocess
import sys

import pytest


def test_without_nova_the_import_says_what_to_install():
    code = (
        "import sys; sys.modules['nova'] = None\n"
        "try:\n"
        "    import climate.scheduler.filters\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "needs nova, which is not installed" in out
    assert "climate-leases[nova]" in out


# Importing nova registers its options on the global configuration,
# where some clash with Climate's: the filter runs in a process of its own,
# as in nova-scheduler.
FILTER_CHECK = """
import types
from nova import objects
from nova.scheduler import filters as nova_filters
from climate.scheduler import filters

objects.register_all()
assert issubclass(filters.ClimateFilter, nova_filters.BaseHostFilter)
climate_filter = filters.ClimateFilter()


def host(*aggregates):
    return types.SimpleNamespace(aggregates=[
        types.SimpleNamespace(name=n, metadata=m) for n, m in aggregates
    ])


def spec(project, reservation=None):
    hints = {"reservation": [reservation]} if reservation else {}
    return objects.RequestSpec(project_id=project, scheduler_hints=hints)


reserved = host(("r-1", {"climate:owner": "p1"}))
assert climate_filter.host_passes(reserved, spec("p1", "r-1"))
assert not climate_filter.host_passes(reserved, spec("p2", "r-1"))
assert not climate_filter.host_passes(reserved, spec("p1"))
assert climate_filter.host_passes(host(), spec("p1"))
assert climate_filter.host_passes(host(("ssd", {})), spec("p1"))
free = host(("freepool", {"climate:freepool": "true"}))
assert not climate_filter.host_passes(free, spec("p1"))
assert not climate_filter.host_passes(host(("freepool", {})), spec("p1"))
# An instance reservation's flavor: its pool, though in the free pool.
flavored = objects.RequestSpec(
    project_id="p1",
    scheduler_hints={},
    flavor=objects.Flavor(extra_specs={"climate:reservation": "r-9"}),
)
pool = host(
    ("freepool", {"climate:freepool": "true"}),
    ("r-9", {"climate:owner": "p1"}),
)
assert climate_filter.host_passes(pool, flavored)
assert not climate_filter.host_passes(free, flavored)
print("ok")
"""


def test_the_filter_decides_from_aggregates_hint_and_project():
    pytest.importorskip("nova")
    out = subprocess.run(
        [sys.executable, "-c", FILTER_CHECK],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == "ok"
