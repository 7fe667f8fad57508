"""The ``climate`` command: a cliff application.

Its commands are the entry points of the ``climate.cli`` group, one cliff
class per verb (``lease create``, ``host list``, ...).  blazar's hyphenated
names (``lease-create``...) run the same commands for existing scripts,
without appearing in the help.  The same classes serve ``openstack
reservation ...`` (see ``climateclient.osc``).

A command is named in full: ``climate leas lis`` is refused with the
commands it may have meant, never run as a guess.
"""

import difflib
import functools
import logging
import os
import sys
from importlib import metadata

from cliff import app, commandmanager

from climateclient.cli import auth, common

COMMAND_GROUP = "climate.cli"
#: The distribution (``pip install`` name) of Climate; ``climate`` on PyPI
#: is an unrelated package.
DISTRIBUTION = common.DISTRIBUTION

#: blazar's command names and the commands they run.
BLAZAR_NAMES = {
    "lease-list": "lease list",
    "lease-show": "lease show",
    "lease-create": "lease create",
    "lease-update": "lease set",
    "lease-delete": "lease delete",
    "host-list": "host list",
    "host-show": "host show",
    "host-create": "host create",
    "host-update": "host set",
    "host-unset": "host unset",
    "host-delete": "host delete",
    "host-property-list": "host property list",
    "host-property-show": "host property show",
    "host-property-set": "host property set",
    "allocation-list": "allocation list",
    "allocation-show": "allocation show",
}


class CommandManager(commandmanager.CommandManager):
    """The commands of ``COMMAND_GROUP``, found and loaded lazily.

    Unlike cliff's, it reads the group's entry points without importing
    them (only the command that runs is imported), takes a command only by
    its full name (no prefixes), and knows blazar's names without listing
    them.
    """

    def load_commands(self, namespace):
        """Record the commands of the entry point group ``namespace``."""
        self.group_list.append(namespace)
        for entry_point in metadata.entry_points(group=namespace):
            name = entry_point.name
            if self.convert_underscores:
                name = name.replace("_", " ")
            self.commands.setdefault(name, entry_point)
        for old, new in BLAZAR_NAMES.items():
            self.add_legacy_command(old, new)

    def find_command(self, argv):
        """The command ``argv`` starts with, by its full name.

        :returns: ``(command class, name as typed, remaining argv)``.
        :raises ValueError: no command has that name.
        """
        words = _leading_words(argv)
        for count in range(len(words), 0, -1):
            typed = " ".join(words[:count])
            name = self._legacy.get(typed, typed)
            if name in self.commands:
                return self.commands[name].load(), typed, argv[count:]
        raise ValueError(f"Unknown command {argv!r}")

    def suggestions(self, argv):
        """The commands ``argv`` may have meant, best first (at most 3),
        and whether its words start command names (``lease`` alone)."""
        words = _leading_words(argv)
        names = sorted(self.commands)
        starting = [
            name
            for name in names
            if name.split()[: len(words)] == words[: len(name.split())]
            and len(name.split()) > len(words)
        ]
        if starting:
            return starting, True
        scored = []
        for name in names:
            typed = " ".join(words[: len(name.split())])
            ratio = difflib.SequenceMatcher(None, typed, name).ratio()
            if ratio >= 0.8:
                scored.append((ratio, name))
        best = max((ratio for ratio, _ in scored), default=0)
        close = sorted(
            (-ratio, name) for ratio, name in scored if ratio >= best - 0.1
        )
        return [name for _, name in close[:3]], False


def _leading_words(argv):
    words = []
    for arg in argv:
        if arg.startswith("-"):
            break
        words.append(arg)
    return words


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
            command_manager=CommandManager(COMMAND_GROUP),
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

    def run_subcommand(self, argv):
        """Run the command ``argv`` names in full; else say what it may
        have meant, on stderr, and return 2."""
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            self._unknown_command(argv)
            return 2
        return super().run_subcommand(argv)

    def _unknown_command(self, argv):
        words = _leading_words(argv) or argv[:1]
        names, incomplete = self.command_manager.suggestions(argv)
        if names and not incomplete:
            # "lease crate x": the command part, not its arguments.
            words = words[: len(names[0].split())]
        typed = " ".join(words)
        if incomplete:
            lines = [f"climate: '{typed}' needs one more word; one of:"]
        else:
            lines = [f"climate: '{typed}' is not a climate command."]
            if names:
                lines.append("Did you mean:")
        lines += [f"  climate {name}" for name in names]
        lines.append("See 'climate --help' for every command.")
        self.stderr.write("\n".join(lines) + "\n")

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
