"""What the command modules share."""

from climateclient import exceptions


class CommandError(exceptions.ClientException):
    """A command used in a way it cannot run; the message says how."""


def client(app):
    """The ``climateclient.client.Client`` of the running application.

    ``app.client_manager.reservation`` is where both the ``climate`` shell
    and OpenStackClient (for its ``reservation`` plugin) keep it.
    """
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
