"""``availability search``: when would a reservation be granted."""

from climateclient.cli import common, parsing

COLUMNS = (
    "start_date",
    "end_date",
    "latest_start_date",
    "max_end_date",
    "free",
)


class SearchAvailability(common.Lister):
    """List the earliest windows in which a reservation would be granted.

    Each window says its earliest start, the end of a lease starting then,
    its latest start, the latest end a lease starting then could have, and
    how much is free then.  The search looks a week ahead first, further
    only while the earliest windows are not settled: a window whose starts
    run on for a week or more is the last listed, its latest start as far
    as the search looked.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--resource-type",
            default="physical:host",
            metavar="<type>",
            help="The resource type (default: physical:host)",
        )
        parser.add_argument(
            "--duration",
            required=True,
            type=parsing.duration,
            metavar="<duration>",
            help="How long the lease would last: '90m', '2h', '1d'",
        )
        parser.add_argument(
            "--after",
            metavar="<date>",
            help="Earliest start (default: now)",
        )
        parser.add_argument(
            "--before",
            metavar="<date>",
            help="Latest end (default: 90 days after the start)",
        )
        parser.add_argument(
            "--limit",
            type=int,
            metavar="<n>",
            help="At most <n> windows (default: 5)",
        )
        parser.add_argument(
            "--field",
            dest="fields",
            action="append",
            type=lambda text: parsing.parse_key_values(text, "--field"),
            default=[],
            metavar="<key=value>",
            help="A field of the reservation, such as count=2, min=1, "
            'max=3 or resource_properties=\'["==","$gpu","a100"]\'; '
            "repeat for several",
        )
        return parser

    def take_action(self, parsed_args):
        fields = {}
        for values in parsed_args.fields:
            fields.update(values)
        found = common.client(self.app).availability.search(
            parsed_args.resource_type,
            parsed_args.duration,
            after=parsed_args.after,
            before=parsed_args.before,
            limit=parsed_args.limit,
            **fields,
        )
        return COLUMNS, common.rows(found["windows"], COLUMNS)
