"""``image list|show|create|delete`` and ``block list|show|create|delete``:
images hosts are prepared with, and block allocations."""

from climateclient.cli import columns, common

IMAGE_COLUMNS = ("id", "name", "default_load_time", "reference")
IMAGE_ORDER = (
    "id",
    "name",
    "reference",
    "checksum",
    "default_load_time",
    "estimated_load_time",
    "estimates",
)
BLOCK_COLUMNS = ("id", "name", "image_id", "project", "machine_count")
BLOCK_ORDER = BLOCK_COLUMNS + ("ignore_privileges", "slots")
BLOCK_FORMATTERS = {"slots": columns.SlotsColumn}


class ListImages(common.Lister):
    """List the images hosts can be prepared with."""

    def take_action(self, parsed_args):
        images = common.client(self.app).images.list()
        return IMAGE_COLUMNS, common.rows(images, IMAGE_COLUMNS)


class ShowImage(common.ShowOne):
    """Show an image and its learned load time."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>", help="Name or ID")
        return parser

    def take_action(self, parsed_args):
        image = common.client(self.app).images.get(parsed_args.image)
        return common.show(image, IMAGE_ORDER)


class CreateImage(common.ShowOne):
    """Register an image (an operator's job)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="Its name")
        parser.add_argument(
            "--reference",
            required=True,
            metavar="<url>",
            help="What the provisioning driver loads (an image URL)",
        )
        parser.add_argument(
            "--default-load-time",
            type=int,
            metavar="<seconds>",
            help="How long a load takes, until loads teach better "
            "(default: 600)",
        )
        parser.add_argument(
            "--checksum", metavar="<checksum>", help="The image's checksum"
        )
        return parser

    def take_action(self, parsed_args):
        image = common.client(self.app).images.create(
            parsed_args.name,
            parsed_args.reference,
            parsed_args.default_load_time,
            parsed_args.checksum,
        )
        return common.show(image, IMAGE_ORDER)


class DeleteImage(common.Command):
    """Delete images no reservation or block names."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "images", nargs="+", metavar="<image>", help="Names or IDs"
        )
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        common.delete_each(
            parsed_args.images,
            client.images.get,
            client.images.delete,
            "image",
            self.app.stderr,
        )


class ListBlocks(common.Lister):
    """List block allocations."""

    def take_action(self, parsed_args):
        blocks = common.client(self.app).blocks.list()
        return BLOCK_COLUMNS, common.rows(blocks, BLOCK_COLUMNS)


class ShowBlock(common.ShowOne):
    """Show a block allocation and its slots."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("block", metavar="<block>", help="Its ID")
        return parser

    def take_action(self, parsed_args):
        block = common.client(self.app).blocks.get(parsed_args.block)
        return common.show(block, BLOCK_ORDER, BLOCK_FORMATTERS)


class CreateBlock(common.ShowOne):
    """Reserve machines with one image for a project, in time slots."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>", help="Its name")
        parser.add_argument(
            "--image", required=True, metavar="<image>", help="Name or ID"
        )
        parser.add_argument(
            "--machine-count",
            required=True,
            type=int,
            metavar="<n>",
            help="Machines per slot (fewer if fewer are free)",
        )
        parser.add_argument(
            "--project",
            required=True,
            metavar="<project>",
            help="The project whose members get the machines",
        )
        parser.add_argument(
            "--slot",
            dest="slots",
            action="append",
            nargs=2,
            metavar=("<start>", "<end>"),
            help="A time slot (repeat for more)",
        )
        parser.add_argument(
            "--weekly-until",
            metavar="<date>",
            help="Repeat the one --slot every week until this date",
        )
        parser.add_argument(
            "--ignore-privileges",
            action="store_true",
            help="Also use hosts restricted to other projects",
        )
        return parser

    def take_action(self, parsed_args):
        slots = [
            {"start_date": start, "end_date": end}
            for start, end in parsed_args.slots or ()
        ]
        values = {
            "name": parsed_args.name,
            "image": parsed_args.image,
            "machine_count": parsed_args.machine_count,
            "project": parsed_args.project,
            "ignore_privileges": parsed_args.ignore_privileges,
        }
        if parsed_args.weekly_until:
            if len(slots) != 1:
                raise common.CommandError(
                    "--weekly-until repeats exactly one --slot"
                )
            values["weekly"] = {**slots[0], "until": parsed_args.weekly_until}
        else:
            values["slots"] = slots
        block = common.client(self.app).blocks.create(**values)
        return common.show(block, BLOCK_ORDER, BLOCK_FORMATTERS)


class DeleteBlock(common.Command):
    """Cancel block allocations: their slots not started yet go."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("blocks", nargs="+", metavar="<block>", help="IDs")
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        common.delete_each(
            parsed_args.blocks,
            client.blocks.get,
            client.blocks.delete,
            "block",
            self.app.stderr,
        )
