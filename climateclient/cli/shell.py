"""The ``climate`` command: a cliff application.

Its commands are the entry points of the ``climate.cli`` group, one cliff
class per verb (``lease create``, ``host list``, ...), plus blazar's
hyphenated names (``lease-create``...) for existing scripts.  The same
classes serve ``openstack reservation ...`` (see ``climateclient.osc``).
"""

import functools
import logging
import os
import sys
from importlib import metadata

from cliff import app, commandmanager

from climateclient.cli import auth

COMMAND_GROUP = "climate.cli"
#: The distribution (``pip install`` name) of Climate; ``climate`` on PyPI
#: is an unrelated package.
DISTRIBUTION = "climate-leases"


class ClientManager:
    """What the commands reach as ``self.app.client_manager``: the client,
    built on first use (``help`` never builds it)."""

    def __init__(self, options):
        self._options = options

    @functools.cached_property
    def reservation(self):
        return auth.make_client(self._options)


class ClimateShell(app.App):
    """Command line of the Climate lease service."""

    NAME = "climate"
    LOG = logging.getLogger("climateclient")

    def __init__(self, stdout=None, stderr=None, environ=None):
        self._environ = os.environ if environ is None else environ
        self._handlers = []
        self._registered = False
        super().__init__(
            description=ClimateShell.__doc__,
            version=_version(),
            command_manager=commandmanager.CommandManager(COMMAND_GROUP),
            stdout=stdout,
            stderr=stderr,
            deferred_help=True,
        )
        self.client_manager = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        # No abbreviations: the global options are parsed out of the whole
        # command line, and "--end" must stay a command's option, not turn
        # into "--endpoint".
        kwargs = {"allow_abbrev": False, **(argparse_kwargs or {})}
        return super().build_option_parser(description, version, kwargs)

    def run(self, argv):
        # The Keystone options depend on the auth type argv names, as
        # keystoneauth1's loading wants.
        if not self._registered:
            auth.register_options(self.parser, argv, self._environ)
            self._registered = True
        root = logging.getLogger()
        level = root.level
        try:
            return super().run(argv)
        finally:
            # Leave the process's logging as it was (tests run the shell
            # in process, several times).
            for handler in self._handlers:
                root.removeHandler(handler)
            root.setLevel(level)

    def configure_logging(self):
        root = logging.getLogger()
        before = set(root.handlers)
        super().configure_logging()
        self._handlers = [h for h in root.handlers if h not in before]

    def initialize_app(self, argv):
        self.client_manager = ClientManager(self.options)


def _version():
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv=None):
    return ClimateShell().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
