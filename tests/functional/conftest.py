"""Starting Climate commands as real processes, each stopped by its PID."""

import pytest

from tests import helpers


class RunningClimate:
    """A ``climate-all`` process and where to reach it."""

    def __init__(self, process, url, config_file):
        self.process = process
        self.url = url
        self.config_file = config_file

    def leases_url(self, lease_id=None):
        url = f"{self.url}/v1/leases"
        return f"{url}/{lease_id}" if lease_id else url


def climate_config(path, state_path, port, **manager):
    """Write a config file for ``climate-all``; return its path."""
    return helpers.write_config(
        path,
        {
            "DEFAULT": {"state_path": state_path},
            "api": {"port": port},
            "manager": {"poll_interval": 1, **manager},
        },
    )


@pytest.fixture
def record_path(tmp_path):
    """Where the recorder plugin of the processes writes its hook calls."""
    return tmp_path / "hooks.jsonl"


@pytest.fixture
def start_climate_all(request, tmp_path, record_path):
    """Start ``climate-all`` with a state path; return a ``RunningClimate``.

    Every process started is stopped (SIGTERM, then SIGKILL) at the end of
    the test, even if the test stopped it already.
    """
    count = 0

    def _start(state_path, wait=True, **manager):
        nonlocal count
        count += 1
        port = helpers.free_port()
        config_file = climate_config(
            tmp_path / f"climate-{count}.conf", state_path, port, **manager
        )
        process = helpers.ClimateProcess(
            "climate-all",
            config_file,
            tmp_path / f"climate-all-{count}.log",
            env={"CLIMATE_TEST_RECORD": str(record_path)},
        )
        request.addfinalizer(process.stop)
        url = f"http://127.0.0.1:{port}"
        if wait:
            process.wait_http(f"{url}/", timeout=60)
        return RunningClimate(process, url, config_file)

    return _start
