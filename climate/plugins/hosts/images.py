"""Images and block allocations: the operator's side of provisioning.

``ImageManager`` runs in the manager; ``ProvisioningEndpoint`` serves its
methods over RPC in the namespace ``provisioning`` (client side:
``provisioning_rpcapi.ProvisioningAPI``).

A block allocation (after VCL's) reserves machines loaded with one image
for a group, in one or more time slots: a list, or one slot repeated
every week until a date.  Each slot becomes a lease of that group's
project, created through the manager's own ``create_lease`` like any
other, whose one host reservation asks for up to ``machine_count`` hosts
and accepts fewer (``[physical:host] block_min_machines``).  The answer
says per slot how many machines it got, and warns when a slot begins too
soon for them all to be loaded by its start.
"""

import datetime
import uuid

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from climate import context as climate_context
from climate import exceptions, rpc
from climate.common import dates, idempotency
from climate.plugins.hosts import conf, estimates, provisioning
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

NAMESPACE = "provisioning"
RPC_API_VERSION = "1.0"
#: The manager's lease API this module calls (``create_lease``,
#: ``delete_lease``); see ``climate.manager.rpcapi``.
LEASE_API_VERSION = "2.0"
MAX_NAME = 255
MAX_LOAD_TIME = 7 * 24 * 3600
MAX_SLOTS = 520

_expected = messaging.expected_exceptions(exceptions.ClimateException)


class ImageManager:
    """Creates and deletes images and block allocations."""

    def __init__(self):
        self._leases = None

    def _lease_api(self):
        if self._leases is None:
            self._leases = rpc.get_client(rpc.MANAGER_TOPIC, LEASE_API_VERSION)
        return self._leases

    # Images -----------------------------------------------------------------

    def create_image(self, values):
        """Register an image: ``name``, ``reference``, ``checksum``
        (optional), ``default_load_time`` (seconds); return it."""
        unknown = sorted(
            set(values)
            - {"name", "reference", "checksum", "default_load_time"}
        )
        if unknown:
            raise exceptions.InvalidInput(
                reason=f"unknown image field(s) {', '.join(unknown)}; "
                "allowed: name, reference, checksum, default_load_time"
            )
        checksum = values.get("checksum")
        if checksum is not None and (
            not isinstance(checksum, str) or not 0 < len(checksum) <= 255
        ):
            raise exceptions.InvalidInput(
                reason="checksum must be a string of at most 255 characters"
            )
        name = values.get("name")
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > MAX_NAME
        ):
            raise exceptions.InvalidInput(
                reason=f"name must be a non-empty string of at most "
                f"{MAX_NAME} characters"
            )
        reference = values.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            raise exceptions.InvalidInput(
                reason="reference (what the provisioning driver loads, such "
                "as an image URL) is required"
            )
        load_time = values.get("default_load_time", 600)
        if (
            isinstance(load_time, bool)
            or not isinstance(load_time, int)
            or not 1 <= load_time <= MAX_LOAD_TIME
        ):
            raise exceptions.InvalidInput(
                reason=f"default_load_time must be an integer number of "
                f"seconds from 1 to {MAX_LOAD_TIME}"
            )
        image = host_db.image_create(
            {
                "name": name.strip(),
                "reference": reference.strip(),
                "checksum": checksum,
                "default_load_time": load_time,
            }
        )
        LOG.info("image %s (%s) registered", image["name"], image["id"])
        return image

    def delete_image(self, image_id):
        """Delete an image no reservation or block names."""
        image = host_db.image_get(image_id)
        host_db.image_destroy(image["id"])

    # Blocks -----------------------------------------------------------------

    @idempotency.replayable("create_block")
    def create_block(self, context, values):
        """Create a block allocation and a lease per slot; return the
        block with, per slot, its lease, machines and warning.

        The block and the context's Idempotency-Key commit together,
        before its slots are filled (each slot's lease is made over RPC,
        which must see the block): a retry with the key gets
        ``{"id": ...}`` of the block, never a second block."""
        values = dict(values)
        allowed = {
            "name",
            "image",
            "slots",
            "weekly",
            "machine_count",
            "project",
            "ignore_privileges",
        }
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise exceptions.InvalidInput(
                reason=f"unknown block field(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        image = host_db.image_get(values.get("image"))
        project = values.get("project")
        if not isinstance(project, str) or not project.strip():
            raise exceptions.InvalidInput(
                reason="project (whose members get the machines) is required"
            )
        ignore = values.get("ignore_privileges", False)
        if not isinstance(ignore, bool):
            raise exceptions.InvalidInput(
                reason="ignore_privileges must be true or false"
            )
        count = values.get("machine_count")
        inventory = host_db.host_count_reservable()
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not 1 <= count <= inventory
        ):
            raise exceptions.InvalidInput(
                reason=f"machine_count must be an integer from 1 to "
                f"{inventory} (the reservable hosts)"
            )
        now = dates.utcnow()
        slots = _slots(values, now)
        name = values.get("name") or f"block-{image['name']}"
        if not isinstance(name, str) or len(name) > 60:
            raise exceptions.InvalidInput(
                reason="name must be a string of at most 60 characters"
            )
        with host_db.writer():
            idempotency.claim(context, "create_block")
            block = host_db.block_create(
                {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "image_id": image["id"],
                    "project_id": project,
                    "machine_count": count,
                    "ignore_privileges": ignore,
                },
                [{"start_date": s, "end_date": e} for s, e in slots],
            )
            idempotency.record(context, {"id": block["id"]})
        owner = climate_context.RequestContext(
            user_id=context.user_id,
            project_id=project,
            roles=["member", "reader"],
            overwrite=False,
        )
        for index, slot in enumerate(block["slots"], 1):
            self._fill_slot(owner, block, slot, index, image)
        return host_db.block_get(block["id"])

    def _fill_slot(self, owner, block, slot, index, image):
        options = CONF[conf.GROUP.name]
        lease_values = {
            "name": f"{block['name']}-{block['id'][:8]}-{index}",
            "start_date": slot["start_date"].strftime("%Y-%m-%d %H:%M"),
            "end_date": slot["end_date"].strftime("%Y-%m-%d %H:%M"),
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": min(options.block_min_machines, 1),
                    "max": block["machine_count"],
                    "image": image["id"],
                    "block": block["id"],
                }
            ],
        }
        try:
            lease = self._lease_api().call(
                owner, "create_lease", lease_values=lease_values
            )
        except exceptions.ClimateException as exc:
            host_db.block_slot_update(
                slot["id"], {"allocated": 0, "warning": exc.message}
            )
            return
        reservation_id = lease["reservations"][0]["id"]
        fields = host_db.reservation_image_fields([reservation_id]).get(
            reservation_id, {}
        )
        hosts = len(fields.get("hosts", []))
        warning = ""
        ready_at = fields.get("expected_at")
        if hosts and ready_at is not None and ready_at > slot["start_date"]:
            warning = (
                f"the slot begins too soon for its {hosts} machine(s) to be "
                f"loaded in time; expected ready at "
                f"{ready_at:%Y-%m-%d %H:%M}"
            )
        if hosts < block["machine_count"]:
            short = f"{hosts} of {block['machine_count']} machine(s) were free"
            warning = f"{short}; {warning}" if warning else short
        host_db.block_slot_update(
            slot["id"],
            {"lease_id": lease["id"], "allocated": hosts, "warning": warning},
        )

    def delete_block(self, context, block_id):
        """Cancel a block: delete the leases of its slots not started yet,
        and the block; slots under way go on."""
        block = host_db.block_get(block_id)
        owner = climate_context.RequestContext(
            user_id=context.user_id,
            project_id=block["project_id"],
            roles=["member", "reader"],
            overwrite=False,
        )
        lease_ids = [s["lease_id"] for s in block["slots"] if s["lease_id"]]
        started = host_db.leases_started(lease_ids, dates.utcnow())
        for lease_id in lease_ids:
            if lease_id in started:
                continue
            try:
                self._lease_api().call(
                    owner, "delete_lease", lease_id=lease_id
                )
            except exceptions.LeaseNotFound:
                pass
        host_db.block_destroy(block["id"])


def _slots(values, now):
    """The block's ``[(start, end)]``, checked: in the future, ordered,
    not overlapping."""
    listed, weekly = values.get("slots"), values.get("weekly")
    if (listed is None) == (weekly is None):
        raise exceptions.InvalidInput(
            reason="give either slots (a list of {start_date, end_date}) "
            "or weekly ({start_date, end_date, until})"
        )
    if listed is not None:
        if not isinstance(listed, list) or not listed:
            raise exceptions.InvalidInput(
                reason="slots must be a non-empty list"
            )
        slots = [
            _slot(item, f"slots[{i}]", now) for i, item in enumerate(listed)
        ]
    else:
        if not isinstance(weekly, dict):
            raise exceptions.InvalidInput(
                reason="weekly must be an object {start_date, end_date, until}"
            )
        if weekly.get("until") is None:
            raise exceptions.InvalidInput(
                reason="weekly recurrence needs an end: until"
            )
        first = _slot(
            {k: weekly.get(k) for k in ("start_date", "end_date")},
            "weekly",
            now,
        )
        until = dates.parse(
            weekly["until"], "weekly.until", now, date_only=True
        )
        if until <= first[0]:
            raise exceptions.InvalidInput(
                reason="weekly.until must come after the first start_date"
            )
        week = datetime.timedelta(days=7)
        if first[1] - first[0] > week:
            raise exceptions.InvalidInput(
                reason="a weekly slot must last at most a week"
            )
        slots = []
        start, end = first
        while start < until:
            slots.append((start, end))
            start, end = start + week, end + week
    if len(slots) > MAX_SLOTS:
        raise exceptions.InvalidInput(
            reason=f"a block has at most {MAX_SLOTS} slots"
        )
    slots.sort()
    for (_, end), (start, _) in zip(slots, slots[1:], strict=False):
        if start < end:
            raise exceptions.InvalidInput(
                reason=f"slots overlap: one ends at {end:%Y-%m-%d %H:%M}, "
                f"after the next starts at {start:%Y-%m-%d %H:%M}"
            )
    return slots


def _slot(item, where, now):
    if not isinstance(item, dict) or set(item) - {"start_date", "end_date"}:
        raise exceptions.InvalidInput(
            reason=f"{where} must be an object {{start_date, end_date}}"
        )
    for field in ("start_date", "end_date"):
        if item.get(field) is None:
            raise exceptions.InvalidInput(reason=f"{where} needs {field}")
    start = dates.parse(item["start_date"], f"{where}.start_date", now)
    end = dates.parse(item["end_date"], f"{where}.end_date", now)
    if start < now.replace(second=0):
        raise exceptions.InvalidPeriod(
            reason=f"{where} starts at {start:%Y-%m-%d %H:%M}, in the past"
        )
    if end <= start:
        raise exceptions.InvalidPeriod(
            reason=f"{where}: end_date must be later than start_date"
        )
    return start, end


class ProvisioningEndpoint:
    """Images and blocks over RPC, in the namespace ``provisioning``.

    :param images: the plugin's ``ImageManager``.
    """

    target = messaging.Target(namespace=NAMESPACE, version=RPC_API_VERSION)

    def __init__(self, images):
        self._images = images

    @messaging.expose
    @_expected
    @idempotency.once("create_image")
    def create_image(self, context, values):
        """Register an image; return it (a retry with the request's
        Idempotency-Key: the image it registered)."""
        return self._images.create_image(values)

    @messaging.expose
    @_expected
    def delete_image(self, context, image_id):
        """Delete an image nothing uses."""
        self._images.delete_image(image_id)

    @messaging.expose
    @_expected
    def create_block(self, context, values):
        """Create a block allocation; return it with its slots (a retry
        with the request's Idempotency-Key: the block it created, as it
        is now)."""
        block = self._images.create_block(context, values)
        return host_db.block_get(block["id"])

    @messaging.expose
    @_expected
    def delete_block(self, context, block_id):
        """Cancel a block's future slots and delete it."""
        self._images.delete_block(context, block_id)


def image_view_estimates(image):
    """``{driver: {"seconds", "samples"}}`` of an image, for the API: the
    default driver's always, and every driver that loaded it."""
    as_image = provisioning.as_image(image)
    drivers = set(host_db.load_counts(image["id"])) | {
        CONF.provisioning.default_driver
    }
    out = {}
    for driver in sorted(drivers):
        samples = estimates.durations(as_image, driver)
        out[driver] = {
            "seconds": round(estimates.estimate(as_image, driver, samples)),
            "samples": len(samples),
        }
    return out
