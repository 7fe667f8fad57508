"""Power and health of the physical:host plugin's hosts: the energy
policy, power-on before a reservation needs a host, and failed hosts.

Each host has a power driver (``climate.power``), named with its BMC's
address and credentials when it is registered.  The manager's periodic
task (``PowerManager.run_once``, every ``[power] interval`` seconds):

* asks the compute driver which hosts it reports failed (Nova: a
  nova-compute service down), and reads each host's power state and
  health from its BMC; a host that fails
  ``[power] max_failures`` readings in a row (BMC silent, health
  critical, a power-on that never lands) is marked down and handed to
  healing (``heal``);
* finishes changes under way: a boot that landed teaches the host's boot
  time; a graceful shutdown not landed after ``graceful_timeout`` is
  forced;
* with ``[power] energy_policy``: powers on each host that is off and
  whose next allocation starts within its boot time plus ``margin``
  plus one interval (an allocation's window already begins with the
  reservation's preparation lead, so the host is up when preparation
  must start), and powers off idle hosts of the free pool — none held
  now, none starting within that lead, idle for ``idle_time`` — beyond
  the spares kept on (``spare_hosts``, ``spare_share``).

A change is claimed by a conditional update of the host's power row (and
a power-off decided under the host's row lock, as admission takes it),
so two managers never act on one host.  Stages never wait for a boot:
``ensure_on`` asks for the power-on and raises ``NotReady``, and the
event runner tries again shortly, so no lease starts on a host that is
off.
"""

import datetime
import math

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, exceptions, power
from climate.plugins.hosts import notices
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: Host fields of the inventory API that say how a host is powered, and
#: their power row columns.
HOST_FIELDS = {
    "power_driver": "driver",
    "power_address": "address",
    "power_username": "username",
    "power_password": "password",
}

ON, OFF = power.ON, power.OFF
POWERING_ON = "powering_on"
POWERING_OFF = "powering_off"
DOWN = "down"

#: Weight of the newest boot in the learned boot time.
LEARNING_RATE = 0.3


def driver_name(row):
    return (row or {}).get("driver") or CONF.power.default_driver


def split_host_fields(values):
    """Take the power fields out of a host body; return them as power
    row columns.

    :raises InvalidInput: a field is not a string, or names no installed
        power driver.
    """
    found = {}
    for field, column in HOST_FIELDS.items():
        if field not in values:
            continue
        value = values.pop(field)
        if value is not None and (
            not isinstance(value, str) or not value.strip() or len(value) > 255
        ):
            raise exceptions.InvalidInput(
                reason=f"{field} must be a non-empty string of at most 255 "
                "characters"
            )
        found[column] = value.strip() if value else None
    if found.get("driver"):
        power.driver(found["driver"])
    return found


def check_host(name, fields, current=None):
    """Reach a host's BMC with its power fields (at registration, or when
    they change); return the power state it reports.

    :raises PowerUnavailable: the BMC does not answer or refuses the
        credentials (400, with the reason).
    :raises InvalidInput: unknown driver.
    """
    merged = {**(current or {}), **fields}
    name_of_driver = driver_name(merged)
    bmc = power.driver(name_of_driver)
    target = _target(name, merged)
    try:
        return power.call(bmc, "state", target)
    except power.PowerError as exc:
        raise exceptions.PowerUnavailable(
            driver=name_of_driver, host=name, reason=str(exc)
        )


def _target(name, row):
    return power.Target(
        name=name,
        address=row.get("address"),
        username=row.get("username"),
        password=row.get("password"),
    )


class PowerManager:
    """The manager's side of host power: the periodic task, and powering
    hosts on before a stage hands them over.

    :param heal: ``(host_id) -> None``: moves the reservations of a host
        just marked down onto other hosts.
    :param compute_driver: asked each pass which hosts it reports failed
        (Nova: their nova-compute service is down).
    """

    def __init__(self, heal, compute_driver=None):
        self._heal = heal
        self._compute = compute_driver
        #: Hosts found off when a stage needed them (for benchmarks).
        self.late_power_ons = 0

    # The periodic task ------------------------------------------------------

    def run_once(self):
        """One pass over every host with a power row; return how many
        hosts were ``{"on": n, "off": n, "down": n}`` asked on, off,
        marked down."""
        now = clock.now()
        done = {"on": 0, "off": 0, "down": 0}
        rows = host_db.host_power_overview(now)
        idle_on = []
        failed = self._compute_failed(rows)
        for row in rows:
            if row["health"] == DOWN:
                continue
            if row["name"] in failed:
                reason = "its compute service is down"
                if self._failed(row, {}, reason) == DOWN:
                    done["down"] += 1
                continue
            bmc = power.driver(driver_name(row))
            if not bmc.manages_power:
                if row["failures"]:
                    host_db.host_power_set(row["id"], {"failures": 0})
                continue
            target = _target(row["name"], row)
            observed = self._observe(bmc, target, row, now)
            if observed == DOWN:
                done["down"] += 1
            if observed in (None, DOWN):
                continue
            if not CONF.power.energy_policy or not row["reservable"]:
                continue
            if observed in (OFF, POWERING_OFF) and self._needed_soon(row, now):
                if self._power_on(bmc, target, row, now):
                    done["on"] += 1
            elif observed == ON and self._idle(row, now):
                idle_on.append(row)
        for row in self._beyond_spares(rows, idle_on, now):
            if self._power_off(row, now):
                done["off"] += 1
        return done

    def _target_of(self, host_id):
        found = host_db.host_power_target(host_id)
        if found is None:
            return None
        return _target(found["hypervisor_hostname"], found)

    def _compute_failed(self, rows):
        """The hosts the compute service reports failed (none when it
        cannot be asked: its own outage is not the hosts')."""
        if self._compute is None:
            return set()
        try:
            return self._compute.failed_hosts(
                [r["name"] for r in rows if r["health"] != DOWN]
            )
        except exceptions.ClimateException as exc:
            LOG.warning("asking the compute service for failed hosts: %s", exc)
            return set()

    def _observe(self, bmc, target, row, now):
        """Read the host's state and health, finish changes under way;
        the state it is in now, None when the reading failed, ``DOWN``
        when that failure marked it down."""
        try:
            state = power.call(bmc, "state", target)
            health = power.call(bmc, "health", target)
        except power.PowerError as exc:
            LOG.warning("host %s: power reading failed: %s", row["name"], exc)
            return self._failed(row, {}, "its BMC does not answer")
        if health == power.CRITICAL:
            return self._failed(
                row, {"health": health}, "its BMC reports it critical"
            )
        values = {}
        if (row["health"], row["failures"]) != (health or power.OK, 0):
            values = {"health": health or power.OK, "failures": 0}
        current = row["state"]
        if current == POWERING_ON and state == ON:
            self._landed(row, ON, now)
            current = ON
        elif current == POWERING_OFF and state == OFF:
            self._landed(row, OFF, now)
            current = OFF
        elif current == POWERING_ON:
            late = self._boot_late(bmc, target, row, now)
            if late is not None:
                return late
        elif current == POWERING_OFF:
            self._shutdown_late(bmc, target, row, now)
        elif current != state:
            # Changed outside Climate (an operator, a power cut).
            values.update(state=state, state_since=now)
            current = state
            notices.power_changed(row["name"], state, now)
        if values:
            host_db.host_power_set(row["id"], values)
        return current

    def _failed(self, row, values, reason):
        failures = row["failures"] + 1
        host_db.host_power_set(row["id"], {**values, "failures": failures})
        if failures < CONF.power.max_failures:
            return None
        self.mark_down(row["id"], reason)
        return DOWN

    def _landed(self, row, state, now):
        values = {"state": state, "state_since": now}
        if state == ON:
            took = self._since_request(row, now)
            learned = row["boot_time"]
            if took is not None:
                learned = (
                    took
                    if learned is None
                    else learned + LEARNING_RATE * (took - learned)
                )
            values.update(boot_time=learned, boots=row["boots"] + 1)
        else:
            values["cycles"] = row["cycles"] + 1
        if host_db.host_power_move(
            row["id"], (POWERING_ON, POWERING_OFF), values
        ):
            LOG.info("host %s is %s", row["name"], state)
            notices.power_changed(row["name"], state, now)

    def _since_request(self, row, now):
        requested = row["requested_at"]
        if requested is None:
            return None
        return (now - requested).total_seconds()

    def _boot_late(self, bmc, target, row, now):
        """A boot not landed yet: ask again; past ``boot_timeout`` it
        counts as a failure (``DOWN`` when that marked the host down,
        else ``POWERING_ON``); None while it may still land."""
        took = self._since_request(row, now) or 0
        if took >= power.REQUEST_AGAIN:
            # Some BMCs drop a request made while another was pending.
            self._ask(bmc, target, "power_on")
        if took <= CONF.power.boot_timeout:
            return None
        LOG.warning("host %s did not boot within %s s", row["name"], took)
        return (
            self._failed(row, {"requested_at": now}, "it does not power on")
            or POWERING_ON
        )

    def _shutdown_late(self, bmc, target, row, now):
        took = self._since_request(row, now) or 0
        if took >= CONF.power.graceful_timeout:
            self._ask(bmc, target, "power_off", True)
        elif took >= power.REQUEST_AGAIN:
            self._ask(bmc, target, "power_off", False)

    def _ask(self, bmc, target, method, *args):
        try:
            power.call(bmc, method, target, *args)
            return True
        except power.PowerError as exc:
            LOG.warning("host %s: %s failed: %s", target.name, method, exc)
            return False

    # Decisions --------------------------------------------------------------

    def lead(self, row):
        """Seconds before its next allocation a host must be asked on."""
        boot = row["boot_time"]
        if boot is None:
            boot = CONF.power.default_boot_time
        return boot + CONF.power.margin + CONF.power.interval

    def too_soon_to_boot(self, start):
        """Whether a window starting at ``start`` starts before a host
        that is off now could be up (admission then prefers hosts that
        are on)."""
        lead = self.lead({"boot_time": None})
        return (start - clock.now()).total_seconds() <= lead

    def _needed_soon(self, row, now):
        if row["busy"]:
            return True
        start = row["next_start"]
        return start is not None and (start - now).total_seconds() <= (
            self.lead(row)
        )

    def _idle(self, row, now):
        if self._needed_soon(row, now):
            return False
        known = [t for t in (row["last_end"], row["state_since"]) if t]
        if not known:
            return True
        idle = (now - max(known)).total_seconds()
        return idle >= CONF.power.idle_time * 60

    def _beyond_spares(self, rows, idle_on, now):
        """The idle hosts to power off: all but the spares, longest idle
        first."""
        idle_hosts = [
            r
            for r in rows
            if r["reservable"]
            and r["health"] != DOWN
            and not self._needed_soon(r, now)
        ]
        spares = max(
            CONF.power.spare_hosts,
            math.ceil(CONF.power.spare_share * len(idle_hosts)),
        )
        on_idle = sum(1 for r in idle_hosts if r["state"] in (ON, POWERING_ON))
        extra = on_idle - spares
        if extra <= 0:
            return []
        # Longest idle first: the one whose next use is furthest.
        far = datetime.datetime.max
        ordered = sorted(
            idle_on, key=lambda r: r["next_start"] or far, reverse=True
        )
        return ordered[:extra]

    def _power_on(self, bmc, target, row, now):
        if not host_db.host_power_move(
            row["id"],
            (OFF, POWERING_OFF),
            {"state": POWERING_ON, "state_since": now, "requested_at": now},
        ):
            return False
        LOG.info("host %s: powering on before its next lease", row["name"])
        self._ask(bmc, target, "power_on")
        return True

    def _power_off(self, row, now):
        """Claim the power-off under the host's row lock, checking again
        that nothing needs the host soon; then ask its BMC."""
        lead = datetime.timedelta(seconds=self.lead(row))
        with host_db.writer():
            host_db.host_lock(row["id"])
            if host_db.host_allocations_meeting(row["id"], now, now + lead):
                return False
            if not host_db.host_power_move(
                row["id"],
                (ON,),
                {
                    "state": POWERING_OFF,
                    "state_since": now,
                    "requested_at": now,
                },
            ):
                return False
        target = self._target_of(row["id"])
        bmc = power.driver(driver_name(row))
        LOG.info("host %s: idle, powering off", row["name"])
        self._ask(bmc, target, "power_off", False)
        return True

    # Stages -----------------------------------------------------------------

    def ensure_on(self, host_ids):
        """Make sure the hosts are on before a stage hands them over.

        :raises NotReady: some are not on yet; they were asked to power
            on, and the stage is tried again shortly.
        """
        waiting = []
        soonest = float("inf")
        now = clock.now()
        for host_id, row in host_db.host_power_get(host_ids).items():
            bmc = power.driver(driver_name(row))
            if not bmc.manages_power:
                continue
            target = self._target_of(host_id)
            if target is None:
                continue
            try:
                state = power.call(bmc, "state", target)
            except power.PowerError as exc:
                waiting.append((target.name, str(exc)))
                continue
            if state == ON:
                if row["state"] != ON:
                    row = {**row, "id": host_id, "name": target.name}
                    row["requested_at"] = None
                    self._landed(row, ON, now)
                continue
            self.late_power_ons += 1
            if host_db.host_power_move(
                host_id,
                (ON, OFF, POWERING_OFF),
                {
                    "state": POWERING_ON,
                    "state_since": now,
                    "requested_at": now,
                },
            ):
                self._ask(bmc, target, "power_on")
            boot = row["boot_time"] or CONF.power.default_boot_time
            asked = row["requested_at"] if row["state"] == POWERING_ON else now
            left = boot - (now - (asked or now)).total_seconds()
            waiting.append((target.name, f"booting, up in about {left:.0f} s"))
            soonest = min(soonest, left)
        if waiting:
            said = ", ".join(f"host {n}: {why}" for n, why in waiting)
            # Look again when the first should be up, or at the next poll.
            raise exceptions.NotReady(
                reason=said,
                retry_after=max(soonest, CONF.power.poll_interval),
            )

    # Failed hosts -----------------------------------------------------------

    def mark_down(self, host_id, reason):
        """Take a failed host out of service and heal its reservations."""
        with host_db.writer():
            host_db.host_lock(host_id)
            host = host_db.host_get(host_id)
            host_db.host_update(host_id, {"reservable": False}, {})
            host_db.host_power_set(host_id, {"health": DOWN})
        LOG.warning(
            "host %s marked down: %s", host["hypervisor_hostname"], reason
        )
        if self._compute is not None:
            # Out of the free pool too; an operator's PUT reservable=true
            # puts it back.
            try:
                self._compute.remove_hosts(
                    CONF.compute.freepool_name, [host["hypervisor_hostname"]]
                )
            except exceptions.ClimateException as exc:
                LOG.warning(
                    "host %s marked down, but it stays in the free pool's "
                    "aggregate (it takes no server there): %s",
                    host["hypervisor_hostname"],
                    exc,
                )
        notices.host_down(host["hypervisor_hostname"], reason)
        self._heal(host_id)
