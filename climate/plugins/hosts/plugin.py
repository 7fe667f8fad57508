"""The ``physical:host`` plugin: reserving whole hosts for a window."""

import datetime
import os

from oslo_config import cfg
from oslo_log import log as logging

from climate import compute, exceptions, stages, states
from climate.common import dates
from climate.db import api as db_api
from climate.plugins import base
from climate.plugins.hosts import (
    availability,
    conf,
    endpoint,
    endpolicy,
    images,
    inventory,
    notices,
    power,
    provisioning,
    request,
)
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

OWNER_KEY = "climate:owner"


class PhysicalHostPlugin(base.ResourcePlugin):
    """Admits host reservations and moves hosts between pools.

    Hosts wait in the free pool; at a lease's start its hosts move into a
    pool named after the reservation, owned by the lease's project, and
    back at the end.
    """

    resource_type = "physical:host"

    # Static parts ------------------------------------------------------------

    models_module = "climate.plugins.hosts.models"
    migrations_dir = os.path.join(
        os.path.dirname(__file__), "migrations", "versions"
    )

    #: The web calendar's page (its data needs a token).
    public_paths = ("/calendar",)

    #: The fields a host reservation shows, in the wire order.
    VIEW_FIELDS = (*request.FIELDS, "ready_at", "hosts")

    @classmethod
    def list_opts(cls):
        """The ``[physical:host]`` group."""
        return {conf.GROUP: conf.OPTS}

    @classmethod
    def blueprints(cls):
        """``/v1/os-hosts`` (the inventory, properties, allocations and
        the calendar's data), ``/v1/images``, ``/v1/blocks`` and the web
        calendar's page, ``/calendar``."""
        from climate.plugins.hosts.api import blocks, calendar, hosts
        from climate.plugins.hosts.api import images as image_routes

        return [
            (calendar.blueprint, ""),
            (hosts.blueprint, "/v1/os-hosts"),
            (image_routes.blueprint, "/v1/images"),
            (blocks.blueprint, "/v1/blocks"),
        ]

    @classmethod
    def openapi_paths(cls):
        """Those routes in the OpenAPI document."""
        from climate.plugins.hosts.api import openapi

        return openapi.paths()

    @classmethod
    def policies(cls):
        """``climate:oshosts:*`` and ``climate:allocations:get``."""
        from climate.plugins.hosts import policies

        return policies.list_rules()

    @classmethod
    def load_fields(cls, reservation_ids):
        """``min``, ``max``, the queries, ``before_end`` and ``on_end``;
        the ``hosts`` held (names and capabilities that are not private);
        with an image, the image fields (``image``, ``block``, the plan,
        ``ready_at``) and the hosts' addresses and preparation."""
        fields = host_db.host_reservation_fields(reservation_ids)
        for reservation_id, extra in host_db.reservation_image_fields(
            reservation_ids
        ).items():
            extra["block"] = extra.pop("block_id")
            fields.setdefault(reservation_id, {}).update(extra)
        # The hosts held, with their capabilities that are not private:
        # the owner sees what the lease holds.
        for reservation_id, held in host_db.reservation_hosts(
            reservation_ids
        ).items():
            own = fields.setdefault(reservation_id, {})
            by_name = {h["name"]: h for h in own.get("hosts") or ()}
            for host in held:
                if host["name"] in by_name:
                    by_name[host["name"]]["capabilities"] = host[
                        "capabilities"
                    ]
                else:
                    own.setdefault("hosts", []).append(host)
        return fields

    @classmethod
    def view(cls, fields):
        """The host fields as the reservation API v1 shows them, then the
        image's: when the hosts are (expected to be) ready, and the hosts
        with their addresses."""
        out = {f: fields[f] for f in cls.VIEW_FIELDS if f in fields}
        if "ready_at" in out:
            # Expected until the preparation ran, then as it went.
            out["ready_at"] = dates.format_date(
                out["ready_at"] or fields.get("expected_at")
            )
        if "hosts" in out:
            out["hosts"] = [
                {**h, "ready_at": dates.format_date(h["ready_at"])}
                if "ready_at" in h
                else dict(h)
                for h in out["hosts"]
            ]
        return out

    @classmethod
    def stages(cls):
        """``prepare_hosts`` before the start and ``reclaim_hosts`` after
        the end, for reservations with an image."""
        return [*provisioning.STAGES, *endpolicy.STAGES]

    @classmethod
    def usage(cls, lease_ids):
        """``{lease_id: {"hosts": how many hosts it holds}}``."""
        return {
            lease_id: {"hosts": count}
            for lease_id, count in host_db.host_counts_by_lease(
                lease_ids
            ).items()
        }

    @classmethod
    def availability(
        cls,
        context,
        values,
        start,
        end,
        duration,
        limit,
        current=None,
        ignore_reservations=(),
    ):
        """Windows in which ``count`` (or ``min``) hosts matching the
        queries are free for ``duration`` plus the cleaning time, for
        the caller's project (``availability``)."""
        values = dict(values)
        count = values.pop("count", None)
        if count is not None:
            if "min" in values or "max" in values:
                raise exceptions.InvalidInput(
                    reason="give count, or min and max, not both"
                )
            values["min"] = values["max"] = count
        if current is not None:
            current = {f: current[f] for f in request.FIELDS if f in current}
        wanted = request.parse(values, current)
        if wanted.image or wanted.block:
            raise exceptions.InvalidInput(
                reason="the availability search does not take image or "
                "block: it answers for hosts without preparation"
            )
        for field_name, tree in wanted.named_queries():
            host_db.host_query_check_fields([tree], field_name)
        cleaning = _cleaning()
        where = host_db.host_access_condition(context.project_id)

        def find(look_end):
            busy, next_starts = host_db.host_busy_windows(
                wanted.queries,
                where,
                start,
                look_end + cleaning,
                ignore_reservations,
            )
            if len(busy) < wanted.count_min:
                return None  # too few hosts match: no look can find one
            found = availability.gaps(
                busy,
                duration + cleaning,
                start,
                look_end - duration,
                next_starts,
            )
            return availability.windows(found, wanted.count_min, limit)

        return [
            {
                "start": w["start"],
                "latest_start": w["latest_start"],
                "max_end": (
                    None
                    if w["free_until"] is None
                    else w["free_until"] - cleaning
                ),
                "free": w["free"],
            }
            for w in availability.bounded(find, start, end, duration, limit)
        ]

    @classmethod
    def extension(cls, context, lease, reservation):
        """Keeping its hosts, the end may move up to the next allocation
        on one of them (less the cleaning time).  A reservation that has
        not started may also give up hosts taken later for free ones."""
        cleaning = _cleaning()
        held = host_db.host_allocations_of(reservation["id"])
        keep = None
        if held:
            following = host_db.host_next_allocation_start(
                [a["computehost_id"] for a in held],
                max(a["end_date"] for a in held),
                reservation["id"],
            )
            if following is not None:
                keep = following - cleaning
        if reservation["status"] != states.ReservationStatus.PENDING:
            return {
                "keep": keep,
                "swap": keep,
                "swap_note": "its hosts are in use: they cannot be swapped",
            }
        if reservation.get("image_id"):
            return {
                "keep": keep,
                "swap": keep,
                "swap_note": "its hosts are planned for its image: they "
                "cannot be swapped here",
            }
        found = cls.availability(
            context,
            {},
            lease["start_date"],
            lease["end_date"],
            lease["end_date"] - lease["start_date"],
            1,
            current=reservation,
            ignore_reservations=[reservation["id"]],
        )
        swap = keep
        if found and found[0]["start"] == lease["start_date"]:
            swap = found[0]["max_end"]
            if swap is not None and keep is None:
                swap = None
            elif swap is not None:
                swap = max(swap, keep)
        return {"keep": keep, "swap": swap, "swap_note": None}

    # The manager's parts -----------------------------------------------------

    def __init__(self):
        self._driver = compute.load(CONF.compute.driver)
        self.inventory = inventory.HostInventory(self._driver)
        self._admission = provisioning.Admission()
        self.preparer = provisioning.Preparer(self._driver, self._replace)
        self.images = images.ImageManager()
        self.power = power.PowerManager(self.heal_host, self._driver)
        self.end_policy = endpolicy.EndPolicy(self._driver, self.heal_host)
        # Power-on is part of preparing a host: it is on before its load.
        self.preparer.before_load = lambda lease, reservation, host: (
            self.power.ensure_on([host["computehost_id"]])
        )

    def periodic_tasks(self):
        """The power and health pass, every ``[power] interval`` s."""
        return [(CONF.power.interval, self._power_pass)]

    def rpc_endpoints(self):
        """The host inventory's RPC methods (namespace ``physical_host``),
        and the images' and blocks' (namespace ``provisioning``)."""
        return [
            endpoint.HostEndpoint(self.inventory),
            images.ProvisioningEndpoint(self.images),
        ]

    # Admission (inside the lease's transaction) ----------------------------

    def reserve(self, context, lease, reservation, values):
        wanted = request.parse(values)
        queries = wanted.queries
        for field_name, tree in wanted.named_queries():
            host_db.host_query_check_fields([tree], field_name)
        row = host_db.host_reservation_create(
            {"reservation_id": reservation["id"], **wanted.columns()}
        )
        image_fields = self._admission.fields(
            lease, reservation, wanted, dates.utcnow()
        )
        planned = {**reservation, **wanted.columns(), **image_fields}
        start, end = _window(lease, planned)
        host_db.host_allocate(
            reservation["id"],
            start,
            end,
            wanted.count_min,
            wanted.count_max,
            queries,
            where=self._admission.where(lease, image_fields),
            prefer_powered_on=self.power.too_soon_to_boot(start),
        )
        self._plan(lease, planned, image_fields)
        return row["id"]

    def _plan(self, lease, planned, image_fields):
        """Plan the loads of the allocated hosts; widen their window when
        their drivers need a longer lead than the default driver's."""
        if not image_fields:
            return
        reservation_id = planned["id"]
        lead = self._admission.record(
            lease, reservation_id, image_fields, dates.utcnow()
        )
        if lead <= image_fields["prepare_lead"]:
            return
        start, end = _window(lease, {**planned, "prepare_lead": lead})
        if host_db.host_allocations_conflicting(reservation_id, start, end):
            raise exceptions.NotEnoughResourcesAvailable(
                reason=f"the hosts found need {lead} s to be prepared and "
                "are not free that long before the start"
            )
        host_db.host_allocations_move(reservation_id, start, end)

    def _image_fields(self, lease, reservation, wanted, values):
        """The image fields of a reservation being updated: planned anew
        until its preparation began, fixed after."""
        prepared = any(
            row["status"] != "planned"
            for row in host_db.loads_of(reservation["id"], "prepare")
        )
        if (
            prepared
            or reservation["status"] != states.ReservationStatus.PENDING
        ):
            if "image" in values and values["image"] not in (
                reservation.get("image"),
                reservation.get("image_id"),
            ):
                raise exceptions.InvalidState(
                    reason=f"reservation {reservation['id']} is prepared "
                    "already; its image can no longer change"
                )
            keys = (
                "image_id",
                "block_id",
                "prepare_lead",
                "reclaim_for",
                "expected_at",
            )
            current = {k: reservation.get(k) for k in keys}
            current["block_id"] = reservation.get("block")
            return current if reservation.get("image_id") else {}, False
        host_db.reservation_image_delete(reservation["id"])
        return (
            self._admission.fields(lease, reservation, wanted, dates.utcnow()),
            True,
        )

    def update(self, context, lease, reservation, values):
        current = {
            f: reservation[f] for f in request.FIELDS if f in reservation
        }
        wanted = request.parse(values, current)
        for field_name, tree in wanted.named_queries():
            if values.get(field_name) is not None:
                host_db.host_query_check_fields([tree], field_name)
        queries = wanted.queries
        image_fields, replan = self._image_fields(
            lease, reservation, wanted, values
        )
        planned = {**reservation, **wanted.columns(), **image_fields}
        start, end = _window(lease, planned)
        reservation_id = reservation["id"]
        host_db.host_allocations_lock(reservation_id)
        held = {
            a["computehost_id"]
            for a in host_db.host_allocations_of(reservation_id)
        }
        unfit = host_db.host_allocations_conflicting(
            reservation_id, start, end
        )
        unfit |= held - host_db.host_ids_matching(held, queries)
        keep = sorted(held - unfit)[: wanted.count_max]
        drop = held - set(keep)
        # What takes the reservation's own hosts in the new window, said in
        # a refusal (read before the hosts it cannot keep are let go).
        blockers = (
            host_db.host_allocation_blockers(reservation_id, start, end)
            if unfit
            else []
        )
        in_use = reservation["status"] == states.ReservationStatus.ACTIVE
        if drop and in_use:
            raise exceptions.NotEnoughResourcesAvailable(
                reason=f"reservation {reservation_id} has started and "
                f"cannot give up the {len(drop)} host(s) it uses; the "
                "change would need that" + _blocked_by(blockers, context)
            )
        host_db.host_allocations_delete(reservation_id, drop)
        host_db.host_allocations_move(reservation_id, start, end)
        missing_max = wanted.count_max - len(keep)
        if missing_max > 0:
            try:
                host_db.host_allocate(
                    reservation_id,
                    start,
                    end,
                    max(wanted.count_min - len(keep), 0),
                    missing_max,
                    queries,
                    exclude=keep,
                    ignore_reservation=reservation_id,
                    held=len(keep),
                    where=self._admission.where(lease, image_fields),
                )
            except exceptions.NotEnoughResourcesAvailable as exc:
                if not blockers:
                    raise
                raise exceptions.NotEnoughResourcesAvailable(
                    reason=exc.kwargs["reason"]
                    + _blocked_by(blockers, context)
                )
        host_db.host_reservation_update(reservation_id, wanted.columns())
        if replan:
            self._plan(lease, planned, image_fields)

    def release(self, lease, reservation):
        host_db.loads_unplan(reservation["id"])
        host_db.host_allocations_delete(reservation["id"])

    # Hand-over (event loop, outside transactions) ---------------------------

    def on_start(self, lease, reservation):
        """Hand the reservation's hosts over; run again by an update that
        added hosts to an active lease, it hands over the new ones.

        A failed call undoes only what it added: hosts handed over before
        it stay with the lease.
        """
        # No lease starts on a host that is off (NotReady: tried again).
        self.power.ensure_on(_host_ids(reservation))
        hosts = _hostnames(reservation)
        pool = reservation["id"]
        present = self._driver.hosts_in_pool(pool, hosts)
        added = [h for h in hosts if h not in (present or ())]
        try:
            self._driver.ensure_pool(pool, {OWNER_KEY: lease["project_id"]})
            self._driver.add_hosts(pool, added)
            self._driver.remove_hosts(CONF.compute.freepool_name, hosts)
        except Exception:
            # Leave no added host half-moved while the event waits for
            # its retry (or gives up): back to the free pool, best effort.
            self._undo_start(pool, added, created=present is None)
            raise
        self.preparer.handed_over(reservation)
        LOG.info(
            "reservation %s: hosts %s handed to project %s",
            pool,
            ", ".join(added) or "(none new)",
            lease["project_id"],
        )

    def _undo_start(self, pool, added, created):
        try:
            self._driver.ensure_pool(CONF.compute.freepool_name, {})
            self._driver.add_hosts(CONF.compute.freepool_name, added)
            if created:
                self._driver.delete_pool(pool)
            else:
                self._driver.remove_hosts(pool, added)
        except Exception as exc:
            LOG.warning(
                "reservation %s: could not put hosts %s back in the free "
                "pool after a failed hand-over (%s); the next attempt will "
                "retry",
                pool,
                ", ".join(added),
                exc,
            )

    def previous_holders(self, lease, reservation):
        """Leases that held this reservation's hosts before it, in the
        week before its window (``Lifecycle`` waits for their ends)."""
        since = lease["start_date"] - datetime.timedelta(days=7)
        return host_db.host_previous_holders(reservation["id"], since)

    def on_end(self, lease, reservation):
        """Apply the reservation's ``on_end`` to its hosts, or, with a
        grace period, tell the tenant and leave it to ``finish``."""
        allocations = _allocations(reservation)
        if reservation.get("grace_period"):
            self.end_policy.grace_started(lease, reservation, allocations)
            return
        self.end_policy.act(lease, reservation, allocations)

    def finish(self, lease, reservation):
        """The end action after the grace period (``finish_hosts``)."""
        self.end_policy.act(lease, reservation, _allocations(reservation))

    # Preparation and reclaim (stages of their own, see provisioning) ----

    def prepare(self, lease, reservation):
        """Power the reservation's hosts on, then load them with its
        image before the start."""
        if reservation.get("image_id") is not None:
            self.power.ensure_on(_host_ids(reservation))
        self.preparer.prepare(lease, reservation)

    def reclaim(self, lease, reservation):
        """Sanitize or reload the reservation's hosts after the end."""
        self.preparer.reclaim(lease, reservation)

    def _replace(self, lease, reservation, exclude):
        """Allocate one more free matching host to a reservation whose
        host failed; its id, or None."""
        wanted = request.parse(
            {}, {f: reservation[f] for f in request.FIELDS if f in reservation}
        )
        held = host_db.host_allocations_of(reservation["id"])
        if held:
            start, end = held[0]["start_date"], held[0]["end_date"]
        else:
            start, end = _window(lease, reservation)
            start = max(start, dates.utcnow())
        fields = {"block_id": reservation.get("block")}
        with host_db.writer():
            found = host_db.host_allocate(
                reservation["id"],
                start,
                end,
                0,
                1,
                wanted.queries,
                exclude=exclude,
                where=self._admission.where(lease, fields),
            )
        return found[0] if found else None

    # Healing ---------------------------------------------------------------

    def heal_host(self, host_id, reason="the host failed"):
        """Move every current and future allocation of a host that left
        service (marked down, recycling, released) onto another free host
        matching its reservation.

        Future allocations move for their whole window, all in one
        transaction; an active reservation gets a host free from now and
        it is handed over.  A reservation nothing can replace the host
        for keeps ``missing_resources`` and its lease is ``degraded``;
        its tenant is told either way.
        """
        now = dates.utcnow()
        name = host_db.host_get(host_id)["hypervisor_hostname"]
        swapped, missing = [], []
        with host_db.writer():
            for allocation in host_db.host_allocations_of_host(host_id, now):
                reservation = db_api.reservation_get(
                    allocation["reservation_id"]
                )
                lease = db_api.lease_get(reservation["lease_id"])
                reservation = next(
                    r
                    for r in lease["reservations"]
                    if r["id"] == reservation["id"]
                )
                found = self._heal_one(lease, reservation, allocation, now)
                (swapped if found else missing).append(
                    (lease, reservation, found)
                )
        for lease, reservation, found in swapped:
            notices.resources_changed(lease, reservation, [name], found)
            if reservation["status"] == states.ReservationStatus.ACTIVE:
                self._driver.remove_hosts(reservation["id"], [name])
        self._hand_over_replacements()
        for lease, reservation, _ in missing:
            notices.missing_resources(lease, reservation, [name], reason)
        if swapped or missing:
            LOG.info(
                "host %s out of service (%s): %d reservation(s) moved to "
                "other hosts, %d left missing it",
                name,
                reason,
                len(swapped),
                len(missing),
            )
        else:
            LOG.info(
                "host %s out of service (%s): no current or future "
                "reservation held it",
                name,
                reason,
            )

    def _hand_over_replacements(self):
        """Hand the hosts that replaced failed ones to their active
        reservations.

        Durable: the reservations are found in the database (active, and
        ``resources_changed``), and one whose pool lacks some of its
        hosts is handed over again, so a replacement still booting, a
        failed call or a manager restarted meanwhile is caught up at the
        next pass of the power task, by whichever manager runs it.
        """
        for reservation_id, lease_id in host_db.reservations_to_hand_over():
            try:
                hosts = [
                    a["hypervisor_hostname"]
                    for a in host_db.host_allocations_of(reservation_id)
                ]
                present = self._driver.hosts_in_pool(reservation_id, hosts)
                if present is not None and set(hosts) <= present:
                    continue
                lease = db_api.lease_get(lease_id)
                reservation = next(
                    r
                    for r in lease["reservations"]
                    if r["id"] == reservation_id
                )
                if reservation["status"] == states.ReservationStatus.ACTIVE:
                    self.on_start(lease, reservation)
            except exceptions.NotReady as exc:
                LOG.info(
                    "reservation %s: replacement not handed over yet: %s",
                    reservation_id,
                    exc.message,
                )
            except (exceptions.NotFound, StopIteration):
                pass
            except Exception:
                LOG.exception(
                    "reservation %s: handing over a replacement failed; "
                    "trying again at the next pass",
                    reservation_id,
                )

    def _power_pass(self):
        self.power.run_once()
        self._hand_over_replacements()
        try:
            self._driver.tidy_pools()
        except exceptions.ClimateException as exc:
            LOG.warning("tidying the host pools: %s", exc)
        self.end_policy.return_recycled()

    def _heal_one(self, lease, reservation, allocation, now):
        """Replace the host of one allocation (inside the transaction);
        the names of the hosts found (empty: none)."""
        reservation_id = reservation["id"]
        wanted = request.parse(
            {}, {f: reservation[f] for f in request.FIELDS if f in reservation}
        )
        held = {
            a["computehost_id"]
            for a in host_db.host_allocations_of(reservation_id)
        }
        start = max(allocation["start_date"], now)
        host_db.host_allocations_delete(
            reservation_id, [allocation["computehost_id"]]
        )
        host_db.loads_unplan(reservation_id, [allocation["computehost_id"]])
        found = host_db.host_allocate(
            reservation_id,
            start,
            allocation["end_date"],
            0,
            1,
            wanted.queries,
            exclude=held,
            where=self._admission.where(
                lease, {"block_id": reservation.get("block")}
            ),
            prefer_powered_on=self.power.too_soon_to_boot(start),
        )
        if found:
            db_api.reservation_update(
                reservation_id, {"resources_changed": True}
            )
            return [
                a["hypervisor_hostname"]
                for a in host_db.host_allocations_of(reservation_id)
                if a["computehost_id"] in found
            ]
        db_api.reservation_update(reservation_id, {"missing_resources": True})
        db_api.lease_update(lease["id"], {"degraded": True})
        return []


def _window(lease, reservation):
    """The window a reservation blocks: every stage that holds its hosts
    (the lease, and those of the plugin), then cleaning time."""
    start, end = stages.hold_window(
        lease, reservation, PhysicalHostPlugin.stages()
    )
    cleaning = datetime.timedelta(minutes=CONF[conf.GROUP.name].cleaning_time)
    return start, end + cleaning


def _cleaning():
    return datetime.timedelta(minutes=CONF[conf.GROUP.name].cleaning_time)


def _blocked_by(blockers, context):
    """``"; host h1 is taken ... by your lease 'x'"``: what keeps the
    reservation's hosts, naming the caller's own leases only."""
    if not blockers:
        return ""
    said = []
    for block in blockers[:3]:
        if block["project_id"] == context.project_id:
            whose = f"your lease {block['lease_name']!r} ({block['lease_id']})"
        else:
            whose = "another project's lease"
        said.append(
            f"host {block['hypervisor_hostname']} is taken from "
            f"{block['start_date']:%Y-%m-%d %H:%M} to "
            f"{block['end_date']:%Y-%m-%d %H:%M} by {whose}"
        )
    more = len(blockers) - len(said)
    tail = f", and {more} more" if more > 0 else ""
    return "; " + ", ".join(said) + tail


def _allocations(reservation):
    return host_db.host_allocations_of(reservation["id"])


def _host_ids(reservation):
    return [
        a["computehost_id"]
        for a in host_db.host_allocations_of(reservation["id"])
    ]


def _hostnames(reservation):
    return [
        a["hypervisor_hostname"]
        for a in host_db.host_allocations_of(reservation["id"])
    ]
