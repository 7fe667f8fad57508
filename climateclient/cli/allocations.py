"""``allocation list host`` and ``allocation show host <host>``: which
reservations hold which hosts, and when."""

from climateclient.cli import columns, common
from climateclient.v1 import allocations
from climateclient.v1 import leases as v1_leases

COLUMNS = ("resource_id", "reservations")
FORMATTERS = {"reservations": columns.AllocationsColumn}


def _filter_arguments(parser):
    parser.add_argument(
        "--lease",
        "--lease-id",
        dest="lease",
        metavar="<lease>",
        help="Only this lease's reservations (name or ID)",
    )
    parser.add_argument(
        "--reservation-id",
        metavar="<reservation-id>",
        help="Only this reservation",
    )
    parser.add_argument(
        "--start",
        metavar="<date>",
        help="Only reservations still holding the resource after this date",
    )
    parser.add_argument(
        "--end",
        metavar="<date>",
        help="Only reservations holding the resource before this date",
    )


def _resource_type_argument(parser):
    parser.add_argument(
        "resource_type",
        choices=allocations.RESOURCE_TYPES,
        help="The kind of resource",
    )


def _filters(client, parsed_args):
    lease_id = parsed_args.lease
    if lease_id and not v1_leases.looks_like_uuid(lease_id):
        # A name, looked up in the caller's project; an id is only a
        # filter, and an admin's may name any project's lease.
        lease_id = client.leases.find(lease_id)["id"]
    return {
        "lease_id": lease_id,
        "reservation_id": parsed_args.reservation_id,
        "start": parsed_args.start,
        "end": parsed_args.end,
    }


class ListAllocations(common.Lister):
    """List the allocations of every resource of a type."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _resource_type_argument(parser)
        _filter_arguments(parser)
        parser.add_argument(
            "--sort-by",
            metavar="<column>",
            help="Sort by this column (default: resource_id)",
        )
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        found = client.allocations.list(
            parsed_args.resource_type, **_filters(client, parsed_args)
        )
        if parsed_args.sort_by:
            found = common.sort_records(found, parsed_args.sort_by)
        return COLUMNS, common.rows(found, COLUMNS, FORMATTERS)


class ShowAllocation(common.ShowOne):
    """Show the allocations of one resource."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _resource_type_argument(parser)
        parser.add_argument(
            "resource",
            metavar="<resource>",
            help="The resource (a host's name or ID)",
        )
        _filter_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        host = client.hosts.find(parsed_args.resource)
        allocation = client.allocations.get(
            parsed_args.resource_type,
            host["id"],
            **_filters(client, parsed_args),
        )
        return common.show(allocation, COLUMNS, FORMATTERS)
