"""Every install line of the README works from this checkout or the wheel
built from it: resolved offline from uv's cache (which run_tests.sh filled
when it installed .venv), and the wheel installed for real."""

import configparser
import os
import shutil
import subprocess
import sys

import pytest

from tests import helpers, readme

pytestmark = pytest.mark.functional


def _uv():
    uv = os.path.join(os.path.dirname(sys.executable), "uv")
    uv = uv if os.access(uv, os.X_OK) else shutil.which("uv")
    assert uv, "uv is missing from .venv: run ./run_tests.sh once"
    return uv


def _run(*argv, **kwargs):
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, argv))} failed:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of this checkout, built from a copy of its source files
    (so that it holds only what git would ship)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    files = _run(
        "git", "ls-files", "-co", "--exclude-standard", cwd=helpers.ROOT
    ).split("\n")
    for name in filter(None, files):
        origin = os.path.join(helpers.ROOT, name)
        if os.path.isfile(origin):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    _run(_uv(), "build", "--wheel", "--offline", "-q", "-o", work, source)
    config = configparser.ConfigParser()
    config.read(source / "setup.cfg")
    name = readme.WHEEL_NAME.format(version=config["metadata"]["version"])
    assert (work / name).is_file(), list(work.iterdir())
    return work / name


@pytest.fixture
def venv(tmp_path):
    path = tmp_path / "venv"
    _run(_uv(), "venv", "-q", "--python", sys.executable, path)
    return path


def test_every_install_line_resolves(wheel, venv):
    for line in readme.install_lines():
        for source, extras, _ in line.targets:
            where = helpers.ROOT if source == "." else str(wheel)
            target = where + (f"[{','.join(extras)}]" if extras else "")
            _run(
                _uv(),
                "pip",
                "install",
                "--dry-run",
                "--offline",
                "-q",
                "--python",
                venv / "bin" / "python",
                target,
            )


def test_the_wheel_installs_the_commands(wheel, venv):
    _run(
        _uv(),
        "pip",
        "install",
        "--offline",
        "-q",
        "--python",
        venv / "bin" / "python",
        f"{wheel}[osc]",
    )
    bin_dir = venv / "bin"
    version = _run(bin_dir / "climate", "--version")
    assert version.strip() == "climate 0.1.0"
    for command in ("climate-all", "climate-api", "climate-manager"):
        assert "usage:" in _run(bin_dir / command, "--help")
    commands = _run(bin_dir / "openstack", "reservation", "--help")
    assert "reservation lease create" in commands
