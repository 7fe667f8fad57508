"""``run_tests.sh`` itself: where it puts uv, what it leaves behind."""

import os
import subprocess
import sys

import pytest

from tests import helpers

pytestmark = pytest.mark.functional


def test_uv_in_the_venv_and_a_clean_temporary_folder(tmp_path):
    # "The machine's Python": a bare interpreter without pip, and a PATH
    # without uv.  The script must neither need nor change it.
    machine = tmp_path / "machine-python"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(machine)],
        check=True,
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "VIRTUAL_ENV"))
    }
    env.update(
        PATH="/usr/bin:/bin",
        PYTHON=str(machine / "bin" / "python"),
        TMPDIR=str(temporary),
    )
    run = subprocess.run(
        [
            os.path.join(helpers.ROOT, "run_tests.sh"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not services and not functional",
            "tests/unit/test_states.py",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout
    assert os.access(os.path.join(helpers.ROOT, ".venv/bin/uv"), os.X_OK)
    site = machine / "lib"
    assert not list(site.glob("python*/site-packages/uv*")), (
        "uv was installed into the machine's Python"
    )
    # A green run leaves nothing in the temporary folder.
    assert list(temporary.iterdir()) == []
