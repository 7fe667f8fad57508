"""``host list|show|create|set|unset|delete`` and ``host property
list|show|set`` (and blazar's ``host-*``)."""

from climateclient.cli import columns, common, parsing

LIST_COLUMNS = (
    "id",
    "hypervisor_hostname",
    "vcpus",
    "memory_mb",
    "local_gb",
    "reservable",
)
SHOW_ORDER = ("id", "hypervisor_hostname") + LIST_COLUMNS[2:]
PROPERTY_COLUMNS = ("property", "private", "values")
PROPERTY_FORMATTERS = {"values": columns.ListColumn}


def _host_argument(parser, help_text):
    parser.add_argument("host", metavar="<host>", help=help_text)


def _extra_argument(parser, help_text):
    parser.add_argument(
        "--extra",
        "--property",
        dest="extra",
        action="append",
        type=parsing.key_value,
        default=[],
        metavar="<key=value>",
        help=help_text,
    )


class ListHosts(common.Lister):
    """List the physical hosts Climate can reserve."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--long",
            action="store_true",
            help="Show every field and capability",
        )
        parser.add_argument(
            "--sort-by",
            metavar="<column>",
            help="Sort by this column (default: ID)",
        )
        return parser

    def take_action(self, parsed_args):
        hosts = common.client(self.app).hosts.list()
        if parsed_args.sort_by:
            hosts = common.sort_records(hosts, parsed_args.sort_by)
        names = LIST_COLUMNS
        if parsed_args.long:
            extra = sorted({k for h in hosts for k in h} - set(names))
            names = names + tuple(extra)
        return names, common.rows(hosts, names)


class ShowHost(common.ShowOne):
    """Show a host with its capabilities."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _host_argument(parser, "Host to show (name or ID)")
        return parser

    def take_action(self, parsed_args):
        host = common.client(self.app).hosts.find(parsed_args.host)
        return common.show(host, SHOW_ORDER)


class CreateHost(common.ShowOne):
    """Register a host (an operator's job); it joins the free pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "name", metavar="<name>", help="The host's hypervisor hostname"
        )
        _extra_argument(
            parser,
            "A capability or inventory field (vcpus=32, gpu=a100); repeat "
            "for several",
        )
        return parser

    def take_action(self, parsed_args):
        host = common.client(self.app).hosts.create(
            parsed_args.name, **dict(parsed_args.extra)
        )
        return common.show(host, SHOW_ORDER)


class SetHost(common.ShowOne):
    """Change a host's capabilities or whether it is reservable."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _host_argument(parser, "Host to change (name or ID)")
        _extra_argument(
            parser, "Set a capability (gpu=a100); repeat for several"
        )
        parser.add_argument(
            "--unset",
            action="append",
            default=[],
            metavar="<key>",
            help="Remove a capability; repeat for several",
        )
        reservable = parser.add_mutually_exclusive_group()
        reservable.add_argument(
            "--reservable",
            dest="reservable",
            action="store_true",
            default=None,
            help="Let leases take the host",
        )
        reservable.add_argument(
            "--not-reservable",
            dest="reservable",
            action="store_false",
            help="Keep new leases off the host",
        )
        return parser

    def take_action(self, parsed_args):
        values = dict(parsed_args.extra)
        values.update((key, None) for key in parsed_args.unset)
        if parsed_args.reservable is not None:
            values["reservable"] = parsed_args.reservable
        if not values:
            raise common.CommandError(
                "Nothing to change: give --extra, --unset, --reservable or "
                "--not-reservable"
            )
        hosts = common.client(self.app).hosts
        host = hosts.update(hosts.find(parsed_args.host)["id"], values)
        return common.show(host, SHOW_ORDER)


class UnsetHost(common.ShowOne):
    """Remove capabilities of a host (blazar's host-unset)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _host_argument(parser, "Host to change (name or ID)")
        parser.add_argument(
            "--extra",
            "--property",
            dest="keys",
            action="append",
            required=True,
            metavar="<key>",
            help="Capability to remove; repeat for several",
        )
        return parser

    def take_action(self, parsed_args):
        hosts = common.client(self.app).hosts
        host = hosts.update(
            hosts.find(parsed_args.host)["id"],
            dict.fromkeys(parsed_args.keys),
        )
        return common.show(host, SHOW_ORDER)


class DeleteHost(common.Command):
    """Delete hosts that no current or future lease holds."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "hosts",
            metavar="<host>",
            nargs="+",
            help="Host(s) to delete (name or ID)",
        )
        return parser

    def take_action(self, parsed_args):
        hosts = common.client(self.app).hosts
        common.delete_each(
            parsed_args.hosts,
            hosts.find,
            hosts.delete,
            "host",
            self.app.stderr,
        )


class ListHostProperties(common.Lister):
    """List the capability names hosts have."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--detail",
            action="store_true",
            help="Show whether each is private, and its values",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Accepted for blazar's scripts; Climate lists every property",
        )
        parser.add_argument(
            "--sort-by",
            metavar="<column>",
            help="Sort by this column (default: property)",
        )
        return parser

    def take_action(self, parsed_args):
        properties = common.client(self.app).host_properties.list(
            detail=parsed_args.detail
        )
        if parsed_args.sort_by:
            properties = common.sort_records(properties, parsed_args.sort_by)
        names = PROPERTY_COLUMNS if parsed_args.detail else ("property",)
        return names, common.rows(properties, names, PROPERTY_FORMATTERS)


class ShowHostProperty(common.ShowOne):
    """Show a host property: whether it is private, and its values."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "property", metavar="<property>", help="Property name"
        )
        return parser

    def take_action(self, parsed_args):
        prop = common.client(self.app).host_properties.get(
            parsed_args.property
        )
        return common.show(prop, PROPERTY_COLUMNS, PROPERTY_FORMATTERS)


class SetHostProperty(common.ShowOne):
    """Mark a host property private or public."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "property", metavar="<property>", help="Property name"
        )
        visibility = parser.add_mutually_exclusive_group(required=True)
        visibility.add_argument(
            "--private",
            dest="private",
            action="store_true",
            default=None,
            help="Mark the property private",
        )
        visibility.add_argument(
            "--public",
            dest="private",
            action="store_false",
            help="Mark the property public",
        )
        return parser

    def take_action(self, parsed_args):
        prop = common.client(self.app).host_properties.update(
            parsed_args.property, private=parsed_args.private
        )
        return common.show(prop, PROPERTY_COLUMNS, PROPERTY_FORMATTERS)
