"""The distribution's name and the README's install lines (static part;
tests/functional/test_install.py installs them)."""

import configparser
import os

from tests import helpers, readme


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(helpers.ROOT, "setup.cfg"))
    return parser


def test_the_distribution_is_not_named_like_the_pypi_package_climate():
    # "climate" on PyPI is an unrelated command line parsing library.
    assert _setup_cfg()["metadata"]["name"] == "climate-leases"


def test_every_readme_install_line_installs_this_checkout_or_its_wheel():
    extras = set(_setup_cfg()["options.extras_require"])
    version = _setup_cfg()["metadata"]["version"]
    lines = readme.install_lines()
    assert len(lines) >= 5
    for line in lines:
        assert line.targets, f"{line.line!r} installs nothing"
        for source, wanted, matched in line.targets:
            assert matched, (
                f"{line.line!r} would install {source!r} from the package "
                "index; install this checkout (.) or its wheel (dist/...)"
            )
            if source.startswith("dist/"):
                assert source.endswith(
                    readme.WHEEL_NAME.format(version=version)
                ), f"{line.line!r} names a wheel of another version"
            assert set(wanted) <= extras, f"{line.line!r}: unknown extra"
    # The wheel the README installs from is the one it says to build.
    assert (
        f"-w dist .   # dist/{readme.WHEEL_NAME.format(version=version)}"
        in readme.text()
    )
