"""Every benchmark script starts: run as the README says (``python
bench/<name>.py``, the script's folder first on ``sys.path``), each
answers ``--help``.  A script named like a standard module (a
``bench/queue.py``) would shadow it for every other script."""

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(
    p.name for p in BENCH.glob("*.py") if "argparse" in p.read_text()
)


def test_there_are_scripts():
    assert len(SCRIPTS) >= 10, SCRIPTS


def test_no_script_shadows_a_standard_module():
    shadowing = [
        p.name for p in BENCH.glob("*.py") if p.stem in sys.stdlib_module_names
    ]
    assert shadowing == []


@pytest.mark.functional  # a process per script: seconds each
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_answers_help(script):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout
