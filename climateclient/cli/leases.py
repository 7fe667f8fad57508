"""``lease list|show|create|set|delete`` (and blazar's ``lease-*``)."""

import argparse

from climateclient.cli import columns, common, parsing, wait

LIST_COLUMNS = (
    "id",
    "name",
    "kind",
    "start_date",
    "end_date",
    "status",
    "queue_position",
)
LONG_COLUMNS = LIST_COLUMNS + (
    "before_end_date",
    "project_id",
    "user_id",
    "degraded",
    "reservations",
)
SHOW_ORDER = (
    "id",
    "name",
    "kind",
    "status",
    "status_reason",
    "queue_position",
    "earliest_start",
    "duration",
    "not_before",
    "requeue",
    "degraded",
    "start_date",
    "end_date",
    "before_end_date",
    "project_id",
    "user_id",
    "trust_id",
    "created_at",
    "updated_at",
    "reservations",
    "events",
)
FORMATTERS = {
    "reservations": columns.ReservationsColumn,
    "events": columns.EventsColumn,
}
#: blazar's default when no end is given.
DEFAULT_DURATION = "1d"
DATE_HELP = "'now', 'YYYY-MM-DD HH:MM' (UTC) or ISO 8601 with an offset"


def lease_data(lease):
    return common.show(lease, SHOW_ORDER, FORMATTERS)


def _lease_argument(parser, help_text):
    parser.add_argument("lease", metavar="<lease>", help=help_text)
    _all_projects_argument(parser, "Look the name up in every project")


def _all_projects_argument(parser, help_text):
    parser.add_argument(
        "--all-projects",
        action="store_true",
        help=f"{help_text} (admins; by default, your project's only)",
    )


class ListLeases(common.Lister):
    """List leases (your project's; every project's for an admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", help="Only leases with this name")
        parser.add_argument(
            "--status",
            metavar="<status>",
            help="Only leases in this status (PENDING, ACTIVE, ...)",
        )
        parser.add_argument(
            "--limit",
            type=int,
            metavar="<n>",
            help="One page of at most <n> leases (default: all)",
        )
        parser.add_argument(
            "--marker",
            metavar="<lease-id>",
            help="The page after this lease (with --limit)",
        )
        parser.add_argument(
            "--long", action="store_true", help="Show more columns"
        )
        _all_projects_argument(parser, "List every project's leases")
        parser.add_argument(
            "--sort-by",
            metavar="<column>",
            help="Sort by this column (default: creation order)",
        )
        return parser

    def take_action(self, parsed_args):
        leases = common.client(self.app).leases.list(
            name=parsed_args.name,
            status=parsed_args.status,
            limit=parsed_args.limit,
            marker=parsed_args.marker,
            all_projects=parsed_args.all_projects,
        )
        if parsed_args.sort_by:
            leases = common.sort_records(leases, parsed_args.sort_by)
        names = LONG_COLUMNS if parsed_args.long else LIST_COLUMNS
        return names, common.rows(leases, names, FORMATTERS)


class ShowLease(common.ShowOne):
    """Show a lease with its reservations and events."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _lease_argument(parser, "Lease to show (name or ID)")
        parser.add_argument(
            "--extension",
            action="store_true",
            help="Also show how far its end could move now (the latest "
            "end, what limits it, with and without swapping resources)",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Follow the lease until it is ACTIVE, showing progress on "
            "stderr: a queued lease's place in the queue and earliest "
            "start, its placement, its start; exit non-zero if it goes "
            "into ERROR or the timeout passes",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            metavar="<seconds>",
            help="Stop waiting after this many seconds and exit non-zero "
            "(implies --wait; default: wait as long as it takes)",
        )
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        lease = client.leases.find(parsed_args.lease, parsed_args.all_projects)
        if parsed_args.wait or parsed_args.timeout is not None:
            waiter = wait.LeaseWaiter(
                client.leases.get, self.app.stderr, timeout=parsed_args.timeout
            )
            lease = waiter.wait(lease)
        if parsed_args.extension:
            advice = client.leases.extension(lease["id"])
            lease = {**lease, **_extension_rows(advice)}
        return lease_data(lease)


def _extension_rows(advice):
    """The extension advice as rows of ``lease show``."""
    swap = advice["with_swap"]
    rows = {
        "extension_latest_end_date": advice["latest_end_date"] or "no limit",
        "extension_binding": advice["binding"] or "none",
        "extension_prolong_for": advice["prolong_for"] or "no limit",
        "extension_with_swap": (
            f"{swap['latest_end_date'] or 'no limit'} "
            f"(binding: {swap['binding'] or 'none'})"
        ),
        "extension_limits": "\n".join(
            f"{limit['name']}: {limit['end_date']} ({limit['note']})"
            for limit in advice["limits"]
        )
        or "none",
    }
    return rows


class CreateLease(common.ShowOne):
    """Create a lease: a time window and the reservations it holds.

    Without --end-date or --duration the lease lasts one day (as blazar's
    client did).  --duration is the only date the client computes; see
    --duration's help.  With --best-effort the service queues the lease
    and places it on the earliest window that fits: give --duration (sent
    as is) and, optionally, --not-before.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="New lease name")
        parser.add_argument(
            "--start-date",
            default="now",
            metavar="<date>",
            help=f"When the lease starts: {DATE_HELP} (default: now)",
        )
        end = parser.add_mutually_exclusive_group()
        end.add_argument(
            "--end-date",
            metavar="<date>",
            help=f"When the lease ends: {DATE_HELP}",
        )
        end.add_argument(
            "--duration",
            type=parsing.duration,
            metavar="<duration>",
            help="How long the lease lasts: '90m', '2h', '1d', '1w'.  The "
            "end is computed here from the start; for a start of 'now', "
            "from this machine's UTC clock (default: 1d)",
        )
        parser.add_argument(
            "--before-end-date",
            metavar="<date>",
            help="When the before-end actions run (default: the service's "
            "setting)",
        )
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument(
            "--best-effort",
            action="store_true",
            help="A best-effort lease: queued at once, placed by the "
            "service's scheduler on the earliest window that fits; needs "
            "--duration, takes no --end-date",
        )
        kind.add_argument(
            "--preemptible",
            action="store_true",
            help="A preemptible lease: runs on capacity no advance lease "
            "needs, and is ended early, with notice, when one does",
        )
        parser.add_argument(
            "--not-before",
            metavar="<date>",
            help=f"With --best-effort: the earliest start, {DATE_HELP} "
            "(default: now)",
        )
        parser.add_argument(
            "--requeue",
            action="store_true",
            help="With --best-effort: queue the lease again if it is "
            "preempted, instead of ending it",
        )
        parser.add_argument(
            "--reservation",
            dest="reservations",
            action="append",
            type=parsing.reservation,
            default=[],
            metavar="<key=value,...>",
            help="A reservation, such as resource_type=physical:host,min=1,"
            'max=2,resource_properties=\'["==","$gpu","a100"]\'.  '
            "Commas inside JSON brackets or quotes are kept.  Repeat for "
            "several reservations",
        )
        parser.add_argument(
            "--physical-reservation",
            dest="physical_reservations",
            action="append",
            type=parsing.physical_reservation,
            default=[],
            metavar="<min=,max=,hypervisor_properties=,resource_properties=>",
            help="blazar's form of --reservation resource_type="
            "physical:host,...",
        )
        parser.add_argument(
            "--event",
            dest="events",
            action="append",
            type=lambda text: parsing.parse_key_values(text, "--event"),
            default=[],
            help=argparse.SUPPRESS,  # blazar's; Climate computes events
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Wait until the lease is ACTIVE (for a lease that starts "
            "later, until its start), showing progress on stderr; exit "
            "non-zero if it goes into ERROR or the timeout passes",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            metavar="<seconds>",
            help="Stop waiting after this many seconds and exit non-zero; "
            "the lease is kept (implies --wait; default: wait as long as "
            "it takes)",
        )
        return parser

    def take_action(self, parsed_args):
        args = parsed_args
        if args.best_effort:
            fields = _best_effort_fields(args)
        else:
            if args.not_before is not None or args.requeue:
                raise common.CommandError(
                    "--not-before and --requeue are for --best-effort "
                    "leases; an advance lease gives --start-date"
                )
            end_date = args.end_date
            if end_date is None:
                end_date = parsing.end_from_duration(
                    args.start_date, args.duration or DEFAULT_DURATION
                )
            fields = {"start_date": args.start_date, "end_date": end_date}
            if args.preemptible:
                fields["kind"] = "preemptible"
        client = common.client(self.app)
        lease = client.leases.create(
            name=args.name,
            reservations=args.physical_reservations + args.reservations,
            before_end_date=args.before_end_date,
            events=args.events,
            **fields,
        )
        if args.wait or args.timeout is not None:
            waiter = wait.LeaseWaiter(
                client.leases.get, self.app.stderr, timeout=args.timeout
            )
            lease = waiter.wait(lease)
        return lease_data(lease)


def _best_effort_fields(args):
    """The create's fields for ``--best-effort``."""
    if args.end_date is not None:
        raise common.CommandError(
            "--best-effort takes no --end-date: give --duration, and "
            "--not-before for its earliest start"
        )
    if args.duration is None:
        raise common.CommandError(
            "--best-effort needs --duration, such as --duration 4h"
        )
    if args.start_date != "now" and args.not_before is not None:
        raise common.CommandError(
            "give --not-before or --start-date, not both: with "
            "--best-effort both name the earliest start"
        )
    fields = {
        "kind": "best_effort",
        "duration": args.duration,
        "start_date": args.not_before or args.start_date,
        "end_date": None,
    }
    if args.requeue:
        fields["requeue"] = True
    return fields


class SetLease(common.ShowOne):
    """Change a lease: its name, its dates or its reservations."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _lease_argument(parser, "Lease to change (name or ID)")
        parser.add_argument("--name", help="New name")
        end = parser.add_mutually_exclusive_group()
        end.add_argument(
            "--end-date", metavar="<date>", help=f"New end: {DATE_HELP}"
        )
        end.add_argument(
            "--prolong-for",
            "--prolong_for",
            dest="prolong_for",
            type=_duration_or_max,
            metavar="<duration>",
            help="Move the end later by '2h', '1d'..., or 'max': as far "
            "as the resources and the limits allow now (see lease show "
            "--extension)",
        )
        end.add_argument(
            "--reduce-by",
            type=parsing.duration,
            metavar="<duration>",
            help="Move the end earlier by '2h', '1d'...",
        )
        start = parser.add_mutually_exclusive_group()
        start.add_argument(
            "--start-date", metavar="<date>", help=f"New start: {DATE_HELP}"
        )
        start.add_argument(
            "--defer-by",
            type=parsing.duration,
            metavar="<duration>",
            help="Move the start later by '2h', '1d'...",
        )
        start.add_argument(
            "--advance-by",
            type=parsing.duration,
            metavar="<duration>",
            help="Move the start earlier by '2h', '1d'...",
        )
        parser.add_argument(
            "--before-end-date",
            metavar="<date>",
            help="New time for the before-end actions",
        )
        parser.add_argument(
            "--reservation",
            dest="reservations",
            action="append",
            type=parsing.reservation_update,
            default=[],
            metavar="<id=...,key=value,...>",
            help="New values for one reservation, such as id=<id>,max=3 "
            "(id may be left out when the lease has one reservation).  "
            "Repeat for several",
        )
        return parser

    def take_action(self, parsed_args):
        args = parsed_args
        changes = {
            field: getattr(args, field)
            for field in (
                "name",
                "start_date",
                "end_date",
                "before_end_date",
                "prolong_for",
                "reduce_by",
                "defer_by",
                "advance_by",
            )
            if getattr(args, field) is not None
        }
        if not changes and not args.reservations:
            raise common.CommandError(
                "Nothing to change: give --name, a date option or "
                "--reservation"
            )
        client = common.client(self.app)
        lease = client.leases.find(args.lease, args.all_projects)
        if changes.get("prolong_for") == MAX:
            changes["prolong_for"] = _max_prolong(client, lease)
        if args.reservations:
            changes["reservations"] = [
                _with_reservation_id(lease, values)
                for values in args.reservations
            ]
        return lease_data(client.leases.update(lease["id"], **changes))


#: ``--prolong-for max``: as far as allowed.
MAX = "max"


def _duration_or_max(text):
    return MAX if text == MAX else parsing.duration(text)


def _max_prolong(client, lease):
    """The ``prolong_for`` that moves the lease's end as far as its
    resources and the limits allow now, keeping its resources when the
    lease has started, swapping them otherwise (as an update does)."""
    advice = client.leases.extension(lease["id"])
    answer = advice if lease["status"] == "ACTIVE" else advice["with_swap"]
    if answer["prolong_for"] is None:
        raise common.CommandError(
            f"Lease {lease['name']} has no limit on its end; give "
            "--prolong-for a duration"
        )
    if answer["prolong_for"] == "0s":
        raise common.CommandError(
            f"Lease {lease['name']} cannot be extended now: "
            f"{answer['binding']} binds at its end, {advice['end_date']}"
            + "".join(
                f"; {limit['name']}: {limit['note']}"
                for limit in advice["limits"]
                if limit["name"] == answer["binding"]
            )
        )
    return answer["prolong_for"]


def _with_reservation_id(lease, values):
    if "id" in values:
        return values
    reservations = lease.get("reservations") or []
    if len(reservations) != 1:
        ids = ", ".join(r["id"] for r in reservations) or "none"
        raise common.CommandError(
            f"--reservation needs id=<reservation id>: lease {lease['name']} "
            f"has {len(reservations)} reservations ({ids})"
        )
    return {"id": reservations[0]["id"], **values}


class DeleteLease(common.Command):
    """Delete leases, releasing their resources first if they are active."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "leases",
            metavar="<lease>",
            nargs="+",
            help="Lease(s) to delete (name or ID)",
        )
        _all_projects_argument(parser, "Look the names up in every project")
        return parser

    def take_action(self, parsed_args):
        leases = common.client(self.app).leases
        common.delete_each(
            parsed_args.leases,
            lambda name: leases.find(name, parsed_args.all_projects),
            leases.delete,
            "lease",
            self.app.stderr,
        )
