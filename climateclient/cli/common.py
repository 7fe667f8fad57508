"""What the command modules share: their base classes and helpers."""

from cliff import command, lister, show

from climateclient import exceptions
from climateclient.osc import plugin

#: The distribution the commands come from (see ``climateclient.cli.shell``).
DISTRIBUTION = "climate-leases"


class _Base:
    """What Climate's commands add to cliff's classes."""

    @property
    def auth_required(self):
        """Whether OpenStackClient must set up Keystone before the command
        runs: not when ``CLIMATE_URL`` names the service."""
        return plugin.climate_url(self.app) is None

    def get_epilog(self):
        """The command's epilog, its hooks' and, under another application
        (``openstack``), which distribution provides the command.

        Unlike cliff's, it does not search every installed distribution
        for the one that provides the command (a tenth of a second on each
        run): it is Climate's.
        """
        parts = [self._epilog or ""]
        for hook in self._hooks:
            if hook.obj is not None:
                epilog = hook.obj.get_epilog()
                if epilog is not None:
                    parts.append(epilog)
        if type(self.app).__module__.split(".")[0] != "climateclient":
            parts.append(
                f"This command is provided by the {DISTRIBUTION} plugin."
            )
        return "\n\n".join(parts)


class Command(_Base, command.Command):
    """A command that prints nothing (or its own lines)."""


class ShowOne(_Base, show.ShowOne):
    """A command that shows one record: ``take_action`` returns
    ``(columns, values)``."""


class Lister(_Base, lister.Lister):
    """A command that lists records: ``take_action`` returns
    ``(columns, rows)``.  An empty list shows the table's header (with the
    table format), so that it is clear the list is empty."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.set_defaults(print_empty=True)
        return parser


class CommandError(exceptions.ClientException):
    """A command used in a way it cannot run; the message says how."""


def client(app):
    """The ``climateclient.client.Client`` of the running application.

    ``app.client_manager.reservation`` is where both the ``climate`` shell
    and OpenStackClient (for its ``reservation`` plugin) keep it; under
    OpenStackClient, ``CLIMATE_URL`` may name the service instead (see
    ``climateclient.osc.plugin``).
    """
    url = plugin.climate_url(app)
    if url:
        return plugin.endpoint_client(url)
    return app.client_manager.reservation


def show(record, order, formatters=None):
    """``(columns, values)`` for a ShowOne: ``order`` first, then the rest
    of the record's keys sorted; ``formatters`` wrap nested values."""
    formatters = formatters or {}
    keys = [k for k in order if k in record]
    keys += sorted(k for k in record if k not in order)
    values = tuple(
        formatters[k](record[k]) if k in formatters else record[k]
        for k in keys
    )
    return tuple(keys), values


def rows(records, columns, formatters=None):
    """The rows of a Lister: each record's ``columns``, missing ones empty."""
    formatters = formatters or {}
    return (
        tuple(
            formatters[c](r.get(c)) if c in formatters else r.get(c)
            for c in columns
        )
        for r in records
    )


def sort_records(records, column):
    """``--sort-by``: sort by one column, values of any type, None last."""
    return sorted(
        records,
        key=lambda r: (r.get(column) is None, str(r.get(column))),
    )


def delete_each(names, find, delete, kind, stderr):
    """Delete every named resource, going on past failures.

    :raises CommandError: naming how many could not be deleted.
    """
    failed = 0
    for name in names:
        try:
            delete(find(name)["id"])
        except exceptions.ClientException as exc:
            failed += 1
            stderr.write(f"Failed to delete {kind} {name}: {exc}\n")
    if failed:
        raise CommandError(
            f"{failed} of {len(names)} {kind}s could not be deleted"
        )
