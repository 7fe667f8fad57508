"""The core names no resource type: a resource plugin owns its slice
(DESIGN, "A plugin owns its slice"), so adding one edits no core file."""

import os
import re

from tests import helpers

#: The core: the lease API, the lease manager and event runner, the lease
#: tables and their DB functions, views, states and RPC.
CORE = (
    "climate/manager",
    "climate/api",
    "climate/common",
    "climate/states.py",
    "climate/rpc.py",
    "climate/db/api.py",
    "climate/db/models.py",
)
RESOURCE_NAMES = re.compile(
    r"physical:host|virtual:instance|computehost|host_reservation"
    r"|instance_reservation|os-hosts",
    re.IGNORECASE,
)


def _core_files():
    for entry in CORE:
        path = os.path.join(helpers.ROOT, entry)
        if os.path.isfile(path):
            yield path
            continue
        for folder, _, names in os.walk(path):
            for name in sorted(names):
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def test_no_core_file_names_a_resource_type():
    files = list(_core_files())
    assert len(files) > 10
    found = []
    for path in files:
        with open(path, encoding="utf-8") as source:
            for number, line in enumerate(source, 1):
                if RESOURCE_NAMES.search(line):
                    relative = os.path.relpath(path, helpers.ROOT)
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)
