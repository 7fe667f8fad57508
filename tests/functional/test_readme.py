"""README.md, run top to bottom against a fresh ``climate-all``.

Every ``sh`` and ``python`` block of the README runs, in order, in one
session (exported variables and the working directory carry over from a
block to the next, as in a terminal), against a ``climate-all`` the test
starts where the README says to start one, on a free loopback port with
its own state directory and configuration (``127.0.0.1:1234`` in the
blocks becomes that port).  A block fails the test when it exits non-zero,
and its output must show, in order, the lines of the ``text`` block that
follows it (``...`` stands for anything within a line).

A block is not run only when the comment just above it says why::

    <!-- readme-test: skip: needs a Keystone -->

and ``<!-- readme-test: start -->`` marks the block that installs and
starts the service: the test starts its own instead.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests import helpers, readme

pytestmark = pytest.mark.functional

_DIRECTIVE = re.compile(r"<!-- readme-test: (start|skip: (?P<why>.+?)) -->")
_BLOCK = re.compile(
    r"(?:^(?P<directive><!-- readme-test: [^\n]*-->)\n)?"
    r"^```(?P<lang>\w*)\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
#: Where the session keeps its exported variables and directory between
#: blocks.
_STATE = "readme-session.sh"


class Block:
    """A fenced block of the README and what the test does with it."""

    def __init__(self, match, line):
        self.lang = match.group("lang")
        self.body = match.group("body")
        self.line = line
        self.expected = None
        directive = match.group("directive")
        self.action = "run" if self.lang in ("sh", "python") else "other"
        if directive:
            parsed = _DIRECTIVE.fullmatch(directive)
            assert parsed, f"README line {line}: bad directive {directive}"
            self.action = "start" if parsed.group(1) == "start" else "skip"
            self.why = parsed.group("why")


def _blocks():
    text = readme.text()
    blocks = []
    for match in _BLOCK.finditer(text):
        block = Block(match, text.count("\n", 0, match.start("body")))
        if block.lang == "text":
            runnable = [b for b in blocks if b.action == "run"]
            assert runnable and runnable[-1] is blocks[-1], (
                f"README line {block.line}: an output block must follow "
                "the block it is the output of"
            )
            blocks[-1].expected = block.body
            continue
        blocks.append(block)
    return blocks


def _matches(expected, output):
    """Whether the lines of ``expected`` appear in ``output`` in order."""
    lines = iter(output.splitlines())
    for want in filter(str.strip, expected.splitlines()):
        pattern = ".*".join(re.escape(part) for part in want.split("..."))
        if not any(re.fullmatch(pattern, line.rstrip()) for line in lines):
            return False
    return True


def _environment(tmp_path):
    """A new user's terminal: no OpenStack or Climate variables, no
    virtual environment on the PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OS_", "CLIMATE_", "VIRTUAL_ENV"))
    }
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["HOME"] = str(tmp_path / "home")
    os.makedirs(env["HOME"])
    return env


def _run_shell(block, port, state, env):
    body = block.body.replace("127.0.0.1:1234", f"127.0.0.1:{port}")
    script = (
        f"cd {shlex.quote(helpers.ROOT)}\n"
        f"[ -f {state} ] && . {state}\n"
        "set -eo pipefail\n"
        f"{body}\n"
        f"{{ export -p; printf 'cd %q\\n' \"$PWD\"; }} > {state}\n"
    )
    return subprocess.run(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=120,
    )


def _run_python(block, port, env):
    code = block.body.replace("127.0.0.1:1234", f"127.0.0.1:{port}")
    return subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=helpers.ROOT,
        timeout=120,
    )


def test_readme_runs_top_to_bottom(tmp_path, start_climate_all):
    venv = os.path.join(helpers.ROOT, ".venv", "bin")
    assert os.path.dirname(sys.executable) == venv, (
        "the README's commands use .venv: run the tests from it"
    )
    blocks = _blocks()
    assert [b.action for b in blocks].count("start") == 1
    env = _environment(tmp_path)
    state = tmp_path / _STATE
    climate = None
    for block in blocks:
        if block.action in ("skip", "other"):
            continue
        if block.action == "start":
            climate = start_climate_all(tmp_path / "state")
            port = climate.url.rsplit(":", 1)[1]
            continue
        assert climate, f"README line {block.line} runs before the service"
        if block.lang == "sh":
            done = _run_shell(block, port, state, env)
        else:
            done = _run_python(block, port, env)
        where = f"README block at line {block.line}"
        assert done.returncode == 0, f"{where} failed:\n{done.stdout}"
        if block.expected is not None:
            assert _matches(block.expected, done.stdout), (
                f"{where} printed:\n{done.stdout}\n"
                f"which does not show, in order:\n{block.expected}"
            )


def test_every_block_is_run_or_says_why_not():
    for block in _blocks():
        if block.action == "skip":
            assert block.why.strip(), block.line
        if block.lang in ("sh", "python"):
            assert block.action in ("run", "start", "skip"), block.line


def test_the_api_table_is_one_table():
    # A blank line inside a table splits it in two on GitHub.
    text = readme.text()
    assert "|\n\n| `GET /v1/os-hosts`" not in text
    assert "\n| `GET /v1/os-hosts`, `POST /v1/os-hosts` |" in text


def test_links_point_into_the_repository():
    text = readme.text()
    for target in re.findall(r"\]\(([^)#]+)\)", text) + re.findall(
        r"`(\.\./[^`]+)`", text
    ):
        if target.startswith(("http://", "https://")):
            continue
        assert os.path.exists(os.path.join(helpers.ROOT, target)), target
