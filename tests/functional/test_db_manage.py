"""``climate-db-manage`` on a state directory that does not exist yet."""

import os
import subprocess
import sys

import pytest
import requests

from climate.db import migration
from tests import helpers

pytestmark = pytest.mark.functional


def _head():
    """The latest revision among climate's migration scripts."""
    return migration.scripts().get_current_head()


def _db_manage(config_file, *args):
    executable = os.path.join(
        os.path.dirname(sys.executable), "climate-db-manage"
    )
    return subprocess.run(
        [executable, "--config-file", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_upgrade_and_current_on_a_fresh_state_dir(tmp_path, start_climate_all):
    state_path = tmp_path / "new" / "state"
    config_file = helpers.write_config(
        tmp_path / "climate.conf", {"DEFAULT": {"state_path": state_path}}
    )

    empty = _db_manage(config_file, "current")
    assert empty.returncode == 0, empty.stderr
    assert "empty database (no revision)" in empty.stdout

    upgrade = _db_manage(config_file, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"database at revision {_head()}" in upgrade.stdout
    assert (state_path / "climate.sqlite").is_file()

    current = _db_manage(config_file, "current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip() == _head()

    again = _db_manage(config_file, "upgrade")
    assert again.returncode == 0, again.stderr

    # climate-all starts on the database the command made.
    climate = start_climate_all(state_path)
    response = requests.get(f"{climate.url}/v1/leases", timeout=5)
    assert response.json() == {"leases": []}


def test_failure_is_one_clear_line(tmp_path):
    config_file = helpers.write_config(
        tmp_path / "climate.conf", {"DEFAULT": {"state_path": tmp_path}}
    )

    result = _db_manage(config_file, "upgrade", "no-such-revision")

    assert result.returncode != 0
    assert "climate-db-manage upgrade failed" in result.stderr
    assert "no-such-revision" in result.stderr
    assert "Traceback" not in result.stderr
