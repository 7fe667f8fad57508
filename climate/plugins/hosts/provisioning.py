"""Preparing hosts before a lease and reclaiming them after: the physical:host
plugin's ``prepare`` and ``reclaim`` stages.

A host reservation that names an ``image`` gets two stages of its own
(``climate.stages``):

* ``prepare_hosts`` at ``start - prepare_lead``: each host is loaded with
  the image by its provisioning driver, then post-loaded by its OS module
  (``climate.provisioning``).  A host that already carries the image and
  was only sanitized since is not loaded again.  A retry outcome loads it
  again, up to ``[physical:host] max_load_attempts``; a fatal one, or
  attempts spent, swaps it for another free matching host when one can
  still be ready in time, else the reservation is marked
  ``missing_resources`` and its tenant is notified.
* ``reclaim_hosts`` just after the end: a host whose user never logged in
  is sanitized and keeps its image (so the next lease wanting it skips
  the load); one that was used, or may have been, is reloaded.

``prepare_lead`` is planned at admission (``Planner``): the estimated load
time of the image for the host's driver (``estimates``), a margin, and the
host's place in the driver's queue (at most ``[provisioning]
max_concurrent_loads`` loads of one driver overlap), so the hosts are held
from the first load on.  Power management, when it comes, powers hosts on
before their load: ``Preparer.before_load`` is where it plugs in.
"""

import concurrent.futures
import datetime
import math

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, exceptions, provisioning, stages, states
from climate.db import api as db_api
from climate.plugins.hosts import conf, estimates, notices
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus

#: Seconds after the end that the reclaim stage falls: after the end stage
#: has put the hosts back in the free pool.
RECLAIM_DELAY = 1


def _prepare_offset(lease, reservation):
    lead = reservation.get("prepare_lead")
    if lead is None:
        return None
    return -datetime.timedelta(seconds=lead)


def _reclaim_offset(lease, reservation):
    if reservation.get("image_id") is None:
        return None
    # After the end action, which waits for the grace period.
    grace = datetime.timedelta(minutes=reservation.get("grace_period") or 0)
    return datetime.timedelta(seconds=RECLAIM_DELAY) + grace


def _reclaim_hold(lease, reservation):
    return datetime.timedelta(seconds=reservation.get("reclaim_for") or 0)


PREPARE = stages.Stage(
    event_type="prepare_hosts",
    hook="prepare",
    order=20,
    anchor="start_date",
    offset=_prepare_offset,
    runs_from=frozenset({L.PENDING}),
    busy=L.PREPARING,
    reached=L.PENDING,
    resting=L.PENDING,
    on_give_up=stages.GIVE_UP_DEGRADE,
    acquires=True,
    holds=True,
)
RECLAIM = stages.Stage(
    event_type="reclaim_hosts",
    hook="reclaim",
    order=15,
    anchor="end_date",
    offset=_reclaim_offset,
    hold_after=_reclaim_hold,
    runs_from=frozenset({L.TERMINATED}),
    busy=L.RECLAIMING,
    reached=L.TERMINATED,
    resting=L.TERMINATED,
    on_give_up=stages.GIVE_UP_DEGRADE,
    releases=True,
    holds=True,
)
STAGES = (PREPARE, RECLAIM)


def _options():
    return CONF[conf.GROUP.name]


def driver_name(host):
    """The provisioning driver of a host row (or the default)."""
    return host.get("driver") or CONF.provisioning.default_driver


def os_module_name(host):
    """The OS module of a host row (or the default)."""
    return host.get("os_module") or CONF.provisioning.default_os_module


def margin(estimate):
    """Seconds kept between a host's expected ready time and the start."""
    options = _options()
    return max(
        options.prepare_margin * 60.0,
        options.prepare_margin_factor * estimate,
    )


def as_image(row):
    return provisioning.Image(
        id=row["id"],
        name=row["name"],
        reference=row["reference"],
        default_load_time=row["default_load_time"],
        checksum=row.get("checksum"),
    )


def as_host(row):
    return provisioning.Host(name=row["name"], address=row["address"])


# Admission: the plan ----------------------------------------------------


class Planner:
    """When each host of a reservation is loaded, inside the lease's
    transaction."""

    def lead(self, lease, image, driver, count, now):
        """``(prepare_lead seconds, expected ready time, [slot start],
        estimate seconds)`` of ``count`` loads of ``image`` by ``driver``
        for ``lease``.

        Loads are placed as late as possible before ``start - margin``
        while fewer than ``max_concurrent_loads`` planned loads of the
        driver overlap each; a load that cannot end in time begins as soon
        as a lane is free after ``now`` instead (the lease is granted and
        shows when it will be ready).
        """
        seconds = estimates.estimate(image, driver)
        duration = datetime.timedelta(seconds=seconds)
        start = lease["start_date"]
        deadline = start - datetime.timedelta(seconds=margin(seconds))
        lanes = CONF.provisioning.max_concurrent_loads
        horizon = deadline - duration * (math.ceil(count / lanes) + 1)
        busy = [
            (at, at + datetime.timedelta(seconds=expected))
            for at, expected in host_db.loads_planned(
                driver, min(horizon, now), max(deadline, now + duration)
            )
        ]
        slots = []
        for _ in range(count):
            begin = _latest_slot(busy, deadline, duration, lanes)
            if begin < now:
                begin = _earliest_slot(busy, now, duration, lanes)
            slots.append(begin)
            busy.append((begin, begin + duration))
        if not slots:
            return 0, None, [], seconds
        first = min(slots)
        ready = max(slots) + duration
        lead = max((start - first).total_seconds(), 0)
        return math.ceil(lead), ready, slots, seconds

    def reclaim_for(self, image, driver):
        """Seconds the reclaim stage holds the hosts after the end."""
        if _options().reclaim_reload != "now":
            return 0
        seconds = estimates.estimate(image, driver)
        return math.ceil(seconds + margin(seconds))


def _overlapping(busy, begin, end):
    return [(b, e) for b, e in busy if b < end and e > begin]


def _peak(found, begin, end):
    """The most loads of ``found`` running at one moment of ``[begin,
    end)``."""
    moments = sorted(
        [(max(b, begin), 1) for b, _ in found]
        + [(min(e, end), -1) for _, e in found]
    )
    running = peak = 0
    for _, step in moments:
        running += step
        peak = max(peak, running)
    return peak


def _latest_slot(busy, deadline, duration, lanes):
    """The latest start, ending by ``deadline``, at which a lane is free
    for the whole load."""
    end = deadline
    for _ in range(len(busy) + 1):
        found = _overlapping(busy, end - duration, end)
        if _peak(found, end - duration, end) < lanes:
            return end - duration
        # Move before the latest load that begins in the window.
        end = max(b for b, _ in found)
    return end - duration


def _earliest_slot(busy, now, duration, lanes):
    """The earliest start from ``now`` with a lane free for the whole
    load."""
    begin = now
    for _ in range(len(busy) + 1):
        found = _overlapping(busy, begin, begin + duration)
        if _peak(found, begin, begin + duration) < lanes:
            return begin
        # Move past the first load that ends in the window.
        begin = min(e for _, e in found)
    return begin


# Preparing and reclaiming: the hooks ---------------------------------------


class Preparer:
    """Runs the prepare and reclaim stages of host reservations.

    :param compute_driver: the plugin's compute driver, asked at reclaim
        whether servers ran on a host during the lease.
    :param replace: ``(lease, reservation, exclude) -> host id or None``:
        allocates another free matching host for the reservation (the
        plugin's admission rules).
    """

    def __init__(self, compute_driver, replace):
        self._compute = compute_driver
        self._replace = replace

    # Seams ------------------------------------------------------------------

    def before_load(self, lease, reservation, host):
        """Called before each load of a host (``host``: its provisioning
        row, with ``name`` and ``computehost_id``), outside any
        transaction; power management will switch the host on here (an
        exception fails the stage's attempt, which is retried).  Default:
        nothing."""
        return None

    # Prepare ----------------------------------------------------------------

    def prepare(self, lease, reservation):
        """Load every host of the reservation with its image; swap the
        hosts that fail for good, or mark the reservation missing them.
        Idempotent: hosts already ready for it are left alone."""
        image_id = reservation.get("image_id")
        if image_id is None:
            return
        image = as_image(host_db.image_get(image_id))
        held = [
            a["computehost_id"]
            for a in host_db.host_allocations_of(reservation["id"])
        ]
        results = self._run_all(
            held, lambda h: self._prepare_host(lease, reservation, image, h)
        )
        failed = {h: r for h, r in results.items() if r[0] != "ready"}
        ready = {h: r[1] for h, r in results.items() if r[0] == "ready"}
        swapped = 0
        exclude = set(held)
        while failed:
            host_id, (_, reason, failed_at) = failed.popitem()
            replacement = self._swap(
                lease, reservation, image, host_id, failed_at, exclude
            )
            if replacement is None:
                self._missing(lease, reservation, [host_id], reason)
                continue
            swapped += 1
            exclude.add(replacement)
            outcome = self._prepare_host(
                lease, reservation, image, replacement
            )
            if outcome[0] == "ready":
                ready[replacement] = outcome[1]
            else:
                failed[replacement] = outcome
        deadline = self._deadline(lease, reservation, image)
        late = sorted(h for h, at in ready.items() if at > deadline)
        if late:
            self._missing(
                lease,
                reservation,
                late,
                f"ready only at {max(ready.values()):%Y-%m-%d %H:%M:%S}, "
                "after the start",
            )
        host_db.reservation_image_set(
            reservation["id"],
            {"ready_at": max(ready.values()) if ready else None},
        )
        LOG.info(
            "reservation %s: %d host(s) prepared with image %s, %d swapped, "
            "%d late",
            reservation["id"],
            len(ready),
            image.name,
            swapped,
            len(late),
        )

    def _deadline(self, lease, reservation, image):
        """When the hosts are due: the start; for a lease granted too close
        to its start for its image to be ready then, the time it was
        expected ready, with a margin."""
        deadline = lease["start_date"]
        expected = reservation.get("expected_at")
        if expected is not None and expected > deadline:
            seconds = estimates.estimate(
                image, CONF.provisioning.default_driver
            )
            deadline = expected + datetime.timedelta(seconds=margin(seconds))
        return deadline

    def _run_all(self, host_ids, work):
        if len(host_ids) <= 1:
            return {h: work(h) for h in host_ids}
        workers = min(len(host_ids), CONF.provisioning.max_concurrent_loads)
        with concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="climate-load"
        ) as pool:
            futures = {h: pool.submit(work, h) for h in host_ids}
            return {h: f.result() for h, f in futures.items()}

    def _prepare_host(self, lease, reservation, image, host_id):
        """``("ready", ready_at)`` or ``("failed", reason, when)``."""
        host = host_db.host_provisioning_get([host_id])[host_id]
        reservation_id = reservation["id"]
        for row in reversed(host_db.loads_of(reservation_id, "prepare")):
            if row["computehost_id"] != host_id:
                continue
            if row["status"] in ("ready", "skipped"):
                return ("ready", row["finished_at"])
            break
        os_module = provisioning.os_module(os_module_name(host))
        if host["current_image_id"] == image.id and host["clean"]:
            # The host carries the image and was only sanitized since.
            post = os_module.post_load(as_host(host), image, 1)
            finished = max(
                post.finished_at or clock.now(),
                host["ready_at"] or clock.now(),
            )
            if post.ready:
                host_db.load_record(
                    {
                        "reservation_id": reservation_id,
                        "computehost_id": host_id,
                        "image_id": image.id,
                        "driver": driver_name(host),
                        "kind": "prepare",
                        "attempt": 0,
                        "status": "skipped",
                        "reason": "carries the image, sanitized since",
                        "started_at": finished,
                        "finished_at": finished,
                        "duration": post.duration,
                    }
                )
                return ("ready", finished)
        outcome, ready_at = self._load(
            lease, reservation, image, host, "prepare"
        )
        if outcome.ready:
            return ("ready", ready_at)
        return ("failed", outcome.reason, outcome.finished_at or clock.now())

    def _load(self, lease, reservation, image, host, kind):
        """Load and post-load a host, attempt after attempt.

        :returns: ``(last outcome, ready time or None)``.
        """
        driver = provisioning.driver(driver_name(host))
        os_module = provisioning.os_module(os_module_name(host))
        host_id = host["computehost_id"]
        reservation_id = reservation["id"]
        attempts = _options().max_load_attempts
        outcome = None
        for attempt in range(1, attempts + 1):
            self.before_load(lease, reservation, host)
            host_db.host_provisioning_set(
                host_id, {"clean": False, "current_image_id": None}
            )
            began = clock.now()
            with provisioning.load_slots(driver.name):
                outcome = driver.load(as_host(host), image, attempt)
            finished = outcome.finished_at or clock.now()
            duration = outcome.duration
            # When the load really began: a simulated lab may queue it.
            began = max(began, finished - datetime.timedelta(seconds=duration))
            if outcome.ready:
                host["address"] = driver.address(as_host(host))
                host_db.host_provisioning_set(
                    host_id, {"address": host["address"]}
                )
                post = os_module.post_load(as_host(host), image, attempt)
                duration += post.duration
                finished = max(finished, post.finished_at or finished)
                if not post.ready:
                    outcome = post
            host_db.load_record(
                {
                    "reservation_id": reservation_id,
                    "computehost_id": host_id,
                    "image_id": image.id,
                    "driver": driver.name,
                    "kind": kind,
                    "attempt": attempt,
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "started_at": began,
                    "finished_at": finished,
                    "duration": duration,
                }
            )
            if outcome.ready:
                host_db.host_provisioning_set(
                    host_id,
                    {
                        "clean": True,
                        "current_image_id": image.id,
                        "ready_at": finished,
                    },
                )
                return outcome, finished
            LOG.warning(
                "%s of image %s on host %s, attempt %d/%d: %s (%s)",
                kind,
                image.name,
                host["name"],
                attempt,
                attempts,
                outcome.status,
                outcome.reason,
            )
            if outcome.status == provisioning.FATAL:
                break
        return outcome, None

    def _swap(self, lease, reservation, image, host_id, failed_at, exclude):
        """Give the reservation another host instead of ``host_id`` if one
        is free and can be ready in time; return its id or None.

        In time is by the start; for a lease granted too close to its
        start for its image to be ready then, by the time it was expected
        ready, with a margin.
        """
        host_db.host_allocations_delete(reservation["id"], [host_id])
        host_db.loads_unplan(reservation["id"], [host_id])
        seconds = estimates.estimate(image, CONF.provisioning.default_driver)
        deadline = self._deadline(lease, reservation, image)
        if failed_at + datetime.timedelta(seconds=seconds) > deadline:
            return None
        replacement = self._replace(lease, reservation, exclude)
        if replacement is not None:
            LOG.info(
                "reservation %s: host %s replaced by host %s",
                reservation["id"],
                host_id,
                replacement,
            )
        return replacement

    def _missing(self, lease, reservation, host_ids, reason):
        names = sorted(
            h["name"] for h in host_db.host_provisioning_get(host_ids).values()
        )
        db_api.reservation_update(
            reservation["id"], {"missing_resources": True}
        )
        LOG.warning(
            "reservation %s of lease %s is missing host(s) %s at its start: "
            "%s",
            reservation["id"],
            lease["id"],
            ", ".join(names),
            reason,
        )
        notices.missing_resources(lease, reservation, names, reason)

    # Hand-over --------------------------------------------------------------

    def handed_over(self, reservation):
        """The hosts now belong to the lease's user: no longer clean."""
        for allocation in host_db.host_allocations_of(reservation["id"]):
            host_db.host_provisioning_set(
                allocation["computehost_id"], {"clean": False}
            )

    # Reclaim ----------------------------------------------------------------

    def reclaim(self, lease, reservation):
        """Sanitize each host its user never used, reload the others.

        A host whose sanitize fails is reloaded; one whose reload fails is
        left without an image, to be loaded before its next lease.
        Idempotent: hosts reclaimed for this reservation are left alone."""
        image_id = reservation.get("image_id")
        if image_id is None:
            return
        image = as_image(host_db.image_get(image_id))
        held = [
            a["computehost_id"]
            for a in host_db.host_allocations_of(reservation["id"])
        ]
        done = {
            r["computehost_id"]
            for r in host_db.loads_of(reservation["id"])
            if r["kind"] in ("sanitize", "reload")
            and r["status"] in ("ready", "skipped")
        }
        results = self._run_all(
            [h for h in held if h not in done],
            lambda h: self._reclaim_host(lease, reservation, image, h),
        )
        failed = [h for h, ok in results.items() if not ok]
        if failed:
            # Left without an image (clean is False): the next lease's
            # preparation loads them, or swaps them if they stay broken.
            LOG.warning(
                "reservation %s: %d host(s) could not be reloaded after "
                "the end; they will be loaded before their next lease",
                reservation["id"],
                len(failed),
            )

    def _reclaim_host(self, lease, reservation, image, host_id):
        host_db.loads_unplan(reservation["id"], [host_id])
        host = host_db.host_provisioning_get([host_id])[host_id]
        used = self.used(lease, host)
        record = {
            "reservation_id": reservation["id"],
            "computehost_id": host_id,
            "image_id": image.id,
            "driver": driver_name(host),
        }
        if used is False:
            began = clock.now()
            os_module = provisioning.os_module(os_module_name(host))
            outcome = os_module.sanitize(as_host(host))
            host_db.load_record(
                {
                    **record,
                    "kind": "sanitize",
                    "attempt": 1,
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "started_at": began,
                    "finished_at": outcome.finished_at or clock.now(),
                    "duration": outcome.duration,
                }
            )
            if outcome.ready:
                host_db.host_provisioning_set(
                    host_id,
                    {
                        "clean": True,
                        "current_image_id": image.id,
                        "ready_at": max(
                            outcome.finished_at or clock.now(),
                            host["ready_at"] or clock.now(),
                        ),
                    },
                )
                LOG.info("host %s sanitized, image kept", host["name"])
                return True
            LOG.warning(
                "sanitizing host %s failed (%s); reloading it",
                host["name"],
                outcome.reason,
            )
        if _options().reclaim_reload != "now":
            host_db.host_provisioning_set(
                host_id, {"clean": False, "current_image_id": None}
            )
            host_db.load_record(
                {
                    **record,
                    "kind": "reload",
                    "status": "skipped",
                    "reason": "to be loaded before its next lease",
                    "finished_at": clock.now(),
                }
            )
            return True
        outcome, _ = self._load(lease, reservation, image, host, "reload")
        return outcome.ready

    def used(self, lease, host):
        """Whether the lease's user used ``host``: True, False or None
        (cannot tell).  The OS module answers for logins; the compute
        driver for servers created on the host during the lease."""
        answers = []
        os_module = provisioning.os_module(os_module_name(host))
        answers.append(os_module.logged_in(as_host(host), lease["start_date"]))
        answers.append(
            self._compute.servers_since(host["name"], lease["start_date"])
        )
        if True in answers:
            return True
        if False in answers:
            return False
        return None


# Admission: the image fields of a reservation ------------------------------


class Admission:
    """The image part of admitting a host reservation, inside the lease's
    transaction: which image, when its preparation falls, who may be
    given the hosts."""

    def __init__(self, planner=None):
        self._planner = planner or Planner()

    def fields(self, lease, reservation, wanted, now):
        """The image fields of a reservation asking for ``wanted``
        (a ``request.HostRequest``): ``{}`` without an image.

        :raises ImageNotFound: no such image (404).
        :raises BlockNotFound: no such block (404).
        :raises InvalidInput: the block is another project's, or of
            another image.
        """
        if wanted.image is None:
            if wanted.block is not None:
                raise exceptions.InvalidInput(
                    reason="a block's reservation needs its image"
                )
            return {}
        image = host_db.image_get(wanted.image)
        block_id = None
        if wanted.block is not None:
            block = host_db.block_get(wanted.block)
            if (
                block["project_id"] != lease["project_id"]
                or block["image_id"] != image["id"]
            ):
                raise exceptions.InvalidInput(
                    reason=f"block {block['id']} is for another project or "
                    "image"
                )
            block_id = block["id"]
        driver = CONF.provisioning.default_driver
        lead, ready, _, _ = self._planner.lead(
            lease, as_image(image), driver, wanted.count_max, now
        )
        return {
            "image_id": image["id"],
            "block_id": block_id,
            "prepare_lead": lead,
            "reclaim_for": self._planner.reclaim_for(as_image(image), driver),
            "expected_at": ready,
        }

    def where(self, lease, fields):
        """The SQL condition on hosts the reservation may be given: those
        the lease's project may use, unless its block ignores privileges."""
        block_id = fields.get("block_id")
        if block_id is not None:
            if host_db.block_get(block_id)["ignore_privileges"]:
                return None
        return host_db.host_access_condition(lease["project_id"])

    def record(self, lease, reservation_id, fields, now):
        """Plan the loads of the hosts now allocated, by their drivers.

        :returns: the lead the hosts' drivers need, in seconds (more than
            ``fields["prepare_lead"]`` when some host's driver is slower
            or busier than the default one's).
        """
        host_db.loads_unplan(reservation_id)
        if not fields:
            return 0
        image = as_image(host_db.image_get(fields["image_id"]))
        held = [
            a["computehost_id"]
            for a in host_db.host_allocations_of(reservation_id)
        ]
        by_driver = {}
        for host_id, host in host_db.host_provisioning_get(held).items():
            by_driver.setdefault(driver_name(host), []).append(host_id)
        lead, ready_at, rows = 0, None, []
        for driver, host_ids in sorted(by_driver.items()):
            needed, ready, slots, seconds = self._planner.lead(
                lease, image, driver, len(host_ids), now
            )
            lead = max(lead, needed)
            ready_at = ready if ready_at is None else max(ready_at, ready)
            rows.extend(
                {
                    "reservation_id": reservation_id,
                    "computehost_id": host_id,
                    "image_id": image.id,
                    "driver": driver,
                    "kind": "prepare",
                    "planned_at": slot,
                    "expected": seconds,
                }
                for host_id, slot in zip(host_ids, slots, strict=True)
            )
            if fields["reclaim_for"]:
                # A reload after the end takes a lane too, if the user
                # used the host: planned, so preparations avoid it.
                reclaim_at = lease["end_date"] + datetime.timedelta(
                    seconds=RECLAIM_DELAY
                )
                rows.extend(
                    {
                        "reservation_id": reservation_id,
                        "computehost_id": host_id,
                        "image_id": image.id,
                        "driver": driver,
                        "kind": "reload",
                        "planned_at": reclaim_at,
                        "expected": seconds,
                    }
                    for host_id in host_ids
                )
        host_db.loads_plan(rows)
        lead = max(lead, fields["prepare_lead"])
        host_db.reservation_image_set(
            reservation_id,
            {
                "image_id": image.id,
                "block_id": fields.get("block_id"),
                "prepare_lead": lead,
                "reclaim_for": fields["reclaim_for"],
                "expected_at": ready_at or fields.get("expected_at"),
                "ready_at": None,
            },
        )
        return lead


# Hosts: how each is provisioned --------------------------------------------

#: Host fields of the inventory API that say how a host is provisioned.
HOST_FIELDS = ("provisioning_driver", "os_module", "address", "projects")


def split_host_fields(values):
    """Take the provisioning fields out of a host body; return them
    checked, as ``host_provisioning`` columns.

    :raises InvalidInput: a field is malformed or names no installed
        driver or module.
    """
    found = {}
    for field in HOST_FIELDS:
        if field not in values:
            continue
        value = values.pop(field)
        if field == "projects":
            if isinstance(value, list) and all(
                isinstance(p, str) for p in value
            ):
                value = ",".join(p.strip() for p in value if p.strip())
            elif value is None:
                value = ""
            elif isinstance(value, str):
                value = ",".join(
                    p.strip() for p in value.split(",") if p.strip()
                )
            else:
                raise exceptions.InvalidInput(
                    reason="projects must be a list of project ids"
                )
            found["projects"] = value
            continue
        if value is not None and (
            not isinstance(value, str) or not value.strip() or len(value) > 255
        ):
            raise exceptions.InvalidInput(
                reason=f"{field} must be a non-empty string"
            )
        column = "driver" if field == "provisioning_driver" else field
        found[column] = value.strip() if value else None
    if found.get("driver"):
        provisioning.driver(found["driver"])
    if found.get("os_module"):
        provisioning.os_module(found["os_module"])
    return found


def check_host(name, fields, current=None):
    """Check that a host's provisioning driver can reach it (at
    registration, or when its driver or address changes).

    :raises ProvisioningUnavailable: the driver cannot be reached (400,
        naming it).
    :raises InvalidInput: the driver does not know the host.
    """
    merged = {**(current or {"driver": None, "address": None}), **fields}
    driver = provisioning.driver(driver_name(merged))
    driver.check_host(provisioning.Host(name=name, address=merged["address"]))
