"""Schemathesis against a live ``climate-all``: generated requests for
every operation of ``/v1/openapi.json``, a bounded number of examples
each, failing on any 5xx, any answer the document does not describe and
any traceback in a body."""

import os
import subprocess
import sys

import pytest

from tests import helpers

pytestmark = pytest.mark.functional

BIN = os.path.dirname(sys.executable)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "no_traceback",
)


@pytest.fixture
def service(tmp_path):
    port = helpers.free_port()
    config = helpers.write_config(
        tmp_path / "climate.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "api": {"port": port},
            "manager": {"plugins": "physical.host.plugin"},
        },
    )
    process = helpers.ClimateProcess(
        "climate-all", config, tmp_path / "climate-all.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/", timeout=60)
        yield url, tmp_path / "climate-all.log"
    finally:
        process.stop()


def test_schemathesis_finds_nothing(service, tmp_path):
    url, log = service
    environ = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": os.path.dirname(__file__),
    }
    done = subprocess.run(
        [
            os.path.join(BIN, "schemathesis"),
            "run",
            f"{url}/v1/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            os.environ.get("CLIMATE_SCHEMATHESIS_EXAMPLES", "15"),
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "13",
            "--header",
            "X-Roles: admin",
            "--header",
            "X-Project-Id: schemathesis",
            "--no-color",
            "--report-dir",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=900,
    )
    output = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    print(output[-4000:])
    assert done.returncode == 0, (
        output[-6000:] + "\n" + log.read_text()[-3000:]
    )
    assert "No issues found" in output or "passed" in output, output[-3000:]
