"""Reading README.md the way its tests need: shell blocks, install lines."""

import os
import re
import shlex

from tests import helpers

README = os.path.join(helpers.ROOT, "README.md")
WHEEL_NAME = "climate_leases-{version}-py3-none-any.whl"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PIP_INSTALL = re.compile(r"pip install ([^`\n]+)")
#: This checkout (``.``) or the wheel built from it, with extras.
_TARGET = re.compile(
    r"^(?P<source>\.|dist/climate_leases-[0-9.]+-py3-none-any\.whl)"
    r"(?:\[(?P<extras>[\w,-]+)\])?$"
)


def text():
    with open(README) as readme:
        return readme.read()


def blocks(language):
    """The fenced code blocks of ``language``, in order."""
    return [body for lang, body in _FENCE.findall(text()) if lang == language]


class InstallLine:
    """One ``pip install`` of the README: what it installs."""

    def __init__(self, line, targets):
        self.line = line
        self.targets = targets  # [(source, extras, matched)]


def install_lines():
    """Every ``pip install`` the README shows, in code blocks or inline."""
    found = []
    for match in _PIP_INSTALL.finditer(text()):
        rest = match.group(1).split("&&")[0].split(" #")[0]
        words = [w for w in shlex.split(rest) if w != "-e"]
        targets = []
        for word in words:
            if word.startswith("-"):
                continue
            target = _TARGET.match(word)
            extras = []
            if target and target.group("extras"):
                extras = target.group("extras").split(",")
            targets.append(
                (target.group("source") if target else word, extras, target)
            )
        found.append(InstallLine(match.group(0), targets))
    return found
