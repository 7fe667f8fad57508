"""The ``nova`` compute driver: host inventory and pools in Nova.

Hosts are described from Nova's hypervisors, pools are host aggregates
(the free pool, and one aggregate per active reservation named after its
id), and at a lease's end the servers left on its hosts are deleted or
shelved.  Every call goes through one keystoneauth1 adapter on the
manager's own session (``[service_credentials]``), so tokens are shared
and renewed by keystoneauth1, and connection errors and 5xx answers are
retried there with backoff.
"""

import json
import threading
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions
from climate.common import service_auth
from climate.compute import base, local

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: 2.37 boots with "networks": "none"; 2.53 filters hypervisors by
#: hostname and lists services by UUID; hypervisor details keep vcpus,
#: memory_mb and local_gb until 2.88.
MICROVERSION = "2.53"
TRANSIENT = [500, 502, 503, 504]
#: Marks the free pool's aggregate (and the recycling pool's) for the
#: scheduler filter: no server lands on their hosts.
FREEPOOL_KEY = "climate:freepool"
#: Marks an aggregate that only keeps a host in the availability zone of
#: a reservation that ended while servers still ran on it (see
#: ``NovaDriver._remove``); its value is the zone.
ZONE_KEEPER_KEY = "climate:zone_keeper"
#: on_end policies: what happens to servers left on a host at lease end.
POLICIES = ("default", "delete", "shelve")
# Server states that no longer hold the host (shelve policy).
_OFF_HOST = {"SHELVED_OFFLOADED"}
_POLL = 1.0


class NovaDriver(base.ComputeDriver):
    """Keeps the host pools as Nova host aggregates.

    Built when the manager loads the physical:host plugin, so missing
    service credentials stop the manager at start with the option's name.
    """

    def __init__(self, session=None):
        conf = CONF.nova
        if session is None:
            session = service_auth.get_session()
        if CONF.service_credentials.auth_type == "none" and (
            not conf.endpoint_override
        ):
            raise exceptions.ConfigurationError(
                reason="[nova] endpoint_override is not set: without "
                "Keystone ([service_credentials] auth_type = none) there "
                "is no catalog to find the Compute API in"
            )
        self._api = ks_adapter.Adapter(
            session=session,
            service_type="compute",
            interface=conf.interface,
            region_name=conf.region_name,
            endpoint_override=conf.endpoint_override,
            default_microversion=MICROVERSION,
            additional_headers=dict(conf.additional_headers),
            connect_retries=conf.retries,
            status_code_retries=conf.retries,
            retriable_status_codes=TRANSIENT,
            raise_exc=False,
        )
        # Hypervisor hostname -> compute service host (aggregates and
        # server listings speak of the latter).
        self._service_hosts = {}

    # Inventory --------------------------------------------------------------

    def describe_host(self, name, values):
        given = sorted(v for v in values if values[v] is not None)
        if given:
            raise exceptions.InvalidInput(
                reason=f"{', '.join(given)} come(s) from Nova with the nova "
                "compute driver and cannot be given"
            )
        hypervisor = self._hypervisor(name)
        host = hypervisor["service"]["host"]
        self._service_hosts[name] = host
        servers = self._servers_on(host)
        if servers:
            raise exceptions.HostInUse(
                reason=f"host {name} runs {len(servers)} server(s) "
                f"({', '.join(s['id'] for s in servers[:3])}); only a host "
                "without servers can be made reservable"
            )
        cpu_info = hypervisor.get("cpu_info")
        if not isinstance(cpu_info, str):
            cpu_info = json.dumps(cpu_info or {}, sort_keys=True)
        return {
            "vcpus": local._integer("vcpus", hypervisor.get("vcpus")),
            "memory_mb": local._integer(
                "memory_mb", hypervisor.get("memory_mb")
            ),
            "local_gb": local._integer("local_gb", hypervisor.get("local_gb")),
            "hypervisor_type": hypervisor.get("hypervisor_type"),
            "hypervisor_version": local._integer(
                "hypervisor_version", hypervisor.get("hypervisor_version")
            ),
            "cpu_info": cpu_info,
            "availability_zone": self._zone(host),
            "service_name": host,
        }

    def _hypervisor(self, name):
        found = self._call(
            "GET",
            "/os-hypervisors/detail",
            params={"hypervisor_hostname_pattern": name},
            absent=True,
        )
        # The pattern is a substring match: keep the exact name.
        for hypervisor in (found or {}).get("hypervisors", []):
            if hypervisor["hypervisor_hostname"] == name:
                return hypervisor
        raise exceptions.HypervisorNotFound(name=name)

    def _zone(self, host):
        found = self._call(
            "GET",
            "/os-services",
            params={"host": host, "binary": "nova-compute"},
        )
        for service in found.get("services", []):
            return service.get("zone")
        return None

    def _host(self, name):
        """The compute service host of hypervisor ``name``."""
        if name not in self._service_hosts:
            try:
                self._service_hosts[name] = self._hypervisor(name)["service"][
                    "host"
                ]
            except exceptions.HypervisorNotFound:
                return name  # gone from Nova: the names usually agree
        return self._service_hosts[name]

    # Pools -------------------------------------------------------------------

    def ensure_pool(self, name, metadata):
        """Create the pool's aggregate unless it exists.

        The free and the recycling pools are marked for the scheduler
        filter (no server lands there) and have no availability zone, so
        a host running servers can join and leave them; a reservation's
        pool has the zone ``<[nova] availability_zone_prefix><name>``.
        """
        metadata = dict(metadata)
        zone = None
        if name in base.hidden_pools():
            metadata[FREEPOOL_KEY] = "true"
        elif CONF.nova.availability_zone_prefix:
            zone = CONF.nova.availability_zone_prefix + name
        self._ensure_aggregate(name, zone, metadata)

    def _ensure_aggregate(self, name, zone, metadata):
        aggregate = self._aggregate(name)
        if aggregate is None:
            body = {"name": name, "availability_zone": zone}
            created = self._call(
                "POST",
                "/os-aggregates",
                json={"aggregate": body},
                conflict_ok=True,
            )
            # A conflict is another manager creating it at the same time.
            aggregate = (created or {}).get("aggregate") or self._aggregate(
                name
            )
        missing = {
            key: value
            for key, value in metadata.items()
            if (aggregate.get("metadata") or {}).get(key) != value
        }
        if missing:
            self._action(aggregate, {"set_metadata": {"metadata": missing}})
        return self._aggregate(name) if missing else aggregate

    def delete_pool(self, name):
        aggregate = self._aggregate(name)
        if aggregate is None:
            return
        for host in aggregate.get("hosts") or []:
            self._remove(aggregate, host)
        self._call("DELETE", f"/os-aggregates/{aggregate['id']}", absent=True)

    def add_hosts(self, pool, hostnames):
        aggregate = self._aggregate(pool)
        if aggregate is None:
            raise exceptions.HostPoolNotFound(name=pool)
        for name in hostnames:
            host = self._host(name)
            if host in (aggregate.get("hosts") or []):
                continue
            answer = self._action(
                aggregate, {"add_host": {"host": host}}, conflict_ok=True
            )
            if (
                answer is None
                and aggregate.get("availability_zone")
                and self._leave_zone_keepers(host)
            ):
                # The host kept an ended reservation's zone: now that it
                # left it, it can enter this one.
                answer = self._action(
                    aggregate, {"add_host": {"host": host}}, conflict_ok=True
                )
            if answer is None:
                # 409: already a member (fine), or Nova refuses the move.
                aggregate = self._aggregate(pool) or aggregate
                if host not in (aggregate.get("hosts") or []):
                    raise exceptions.HostInUse(
                        reason=f"Nova refuses to add host {name} to "
                        f"aggregate {pool}: {self._last_error}"
                    )

    def hosts_in_pool(self, pool, hostnames):
        aggregate = self._aggregate(pool)
        if aggregate is None:
            return None
        members = set(aggregate.get("hosts") or [])
        return {name for name in hostnames if self._host(name) in members}

    def remove_hosts(self, pool, hostnames):
        aggregate = self._aggregate(pool)
        if aggregate is None:
            return
        members = aggregate.get("hosts") or []
        for name in hostnames:
            host = self._host(name)
            if host in members:
                self._remove(aggregate, host)

    def _remove(self, aggregate, host):
        """Take ``host`` out of ``aggregate``.

        Nova refuses (409) to take a host that runs servers out of an
        aggregate with an availability zone: the servers' zone would
        change.  That happens when a reservation ends with ``recycle`` or
        ``release`` (or a failed host leaves an active reservation).  The
        host then first joins a zone keeper, an aggregate of the same
        zone and no other meaning, and leaves the reservation's
        aggregate; ``tidy_pools`` takes it out of the keeper once it runs
        no server.
        """
        body = {"remove_host": {"host": host}}
        answer = self._action(aggregate, body, absent=True, conflict_ok=True)
        if answer is not None:
            return
        zone = aggregate.get("availability_zone")
        if self._last_status != 409:
            return  # 404: not a member (any more)
        if not zone:
            raise exceptions.ComputeError(
                reason=f"Nova refuses to remove host {host} from aggregate "
                f"{aggregate['name']}: {self._last_error}"
            )
        keeper = self._ensure_aggregate(
            f"{zone}-kept", zone, {ZONE_KEEPER_KEY: zone}
        )
        if host not in (keeper.get("hosts") or []):
            self._action(
                keeper, {"add_host": {"host": host}}, conflict_ok=True
            )
        self._action(aggregate, body, absent=True)
        LOG.info(
            "host %s left aggregate %s but keeps its availability zone %s "
            "(aggregate %s) while its servers run",
            host,
            aggregate["name"],
            zone,
            keeper["name"],
        )

    def _leave_zone_keepers(self, host):
        """Take ``host`` out of the zone keepers it is in, if Nova lets
        it (it runs no server); whether it left any."""
        left = False
        for aggregate in self._aggregates():
            metadata = aggregate.get("metadata") or {}
            if ZONE_KEEPER_KEY in metadata and host in (
                aggregate.get("hosts") or []
            ):
                left = self._leave_keeper(aggregate, host) or left
        return left

    def _leave_keeper(self, aggregate, host):
        body = {"remove_host": {"host": host}}
        answer = self._action(aggregate, body, absent=True, conflict_ok=True)
        if answer is not None or self._last_status == 404:
            if not set(aggregate["hosts"]) - {host}:
                self._call(
                    "DELETE",
                    f"/os-aggregates/{aggregate['id']}",
                    absent=True,
                    conflict_ok=True,
                )
            LOG.info(
                "host %s runs no server: out of zone keeper %s",
                host,
                aggregate["name"],
            )
            return True
        return False

    def tidy_pools(self):
        """Take the hosts that run no server any more out of the zone
        keepers, and delete the empty keepers; how many hosts left."""
        left = 0
        for aggregate in self._aggregates():
            metadata = aggregate.get("metadata") or {}
            if ZONE_KEEPER_KEY not in metadata:
                continue
            hosts = aggregate.get("hosts") or []
            if not hosts:
                self._call(
                    "DELETE",
                    f"/os-aggregates/{aggregate['id']}",
                    absent=True,
                    conflict_ok=True,
                )
                continue
            for host in hosts:
                if not self._servers_on(host) and self._leave_keeper(
                    aggregate, host
                ):
                    left += 1
                    aggregate = dict(
                        aggregate,
                        hosts=[h for h in aggregate["hosts"] if h != host],
                    )
        return left

    def _aggregate(self, name):
        for aggregate in self._aggregates():
            if aggregate["name"] == name:
                return aggregate
        return None

    def _aggregates(self):
        return self._call("GET", "/os-aggregates")["aggregates"]

    def _action(self, aggregate, body, **kwargs):
        return self._call(
            "POST",
            f"/os-aggregates/{aggregate['id']}/action",
            json=body,
            **kwargs,
        )

    # Lease end ---------------------------------------------------------------

    def reclaim_hosts(self, hostnames, policy):
        policy = policy or "default"
        if policy == "kill":
            policy = "default"
        if policy not in POLICIES:
            raise exceptions.InvalidInput(
                reason=f"on_end policy {policy!r} is not one of "
                f"{', '.join(POLICIES)}"
            )
        hosts = [self._host(name) for name in hostnames]
        deadline = time.monotonic() + CONF.nova.reclaim_timeout
        acted = set()
        while True:
            left = [
                s
                for host in hosts
                for s in self._servers_on(host)
                if s.get("status") not in _OFF_HOST
            ]
            if not left:
                return
            if time.monotonic() >= deadline:
                raise exceptions.HostInUse(
                    reason=f"{len(left)} server(s) still on host(s) "
                    f"{', '.join(hostnames)} after "
                    f"{CONF.nova.reclaim_timeout} s ({policy} policy)"
                )
            fresh = [s for s in left if s["id"] not in acted]
            if not fresh:
                time.sleep(_POLL)
            for server in fresh:
                if policy == "shelve":
                    self._call(
                        "POST",
                        f"/servers/{server['id']}/action",
                        json={"shelve": None},
                        absent=True,
                        conflict_ok=True,
                    )
                else:
                    self._call(
                        "DELETE", f"/servers/{server['id']}", absent=True
                    )
                acted.add(server["id"])
                LOG.info(
                    "server %s on host %s: %s at lease end",
                    server["id"],
                    server.get("OS-EXT-SRV-ATTR:host"),
                    "shelved" if policy == "shelve" else "deleted",
                )

    def servers_since(self, hostname, since):
        """True if a server (deleted ones included) was created on the
        host at or after ``since``."""
        params = {
            "all_tenants": 1,
            "host": self._host(hostname),
            "changes-since": since.isoformat(),
            "limit": 1000,
        }
        page = self._call("GET", "/servers/detail", params=params)
        for server in page.get("servers", []):
            created = server.get("created", "")
            if created[:19] >= since.isoformat()[:19]:
                return True
        return False

    def failed_hosts(self, hostnames):
        hostnames = list(hostnames)
        if not hostnames:
            return set()
        answer = self._call(
            "GET", "/os-services", params={"binary": "nova-compute"}
        )
        down = {
            s["host"]
            for s in (answer or {}).get("services", [])
            if s.get("state") == "down"
        }
        return {name for name in hostnames if self._host(name) in down}

    def runs_servers(self, hostname):
        return any(
            s.get("status") not in _OFF_HOST
            for s in self._servers_on(self._host(hostname))
        )

    def _servers_on(self, host):
        servers = []
        params = {"all_tenants": 1, "host": host}
        while True:
            page = self._call("GET", "/servers/detail", params=params)
            servers.extend(page.get("servers", []))
            if not page.get("servers_links"):
                return servers
            params = dict(params, marker=servers[-1]["id"])

    # HTTP --------------------------------------------------------------------

    # What the last failed call of this thread said (the driver serves
    # the event runner's threads and the power task's at once).
    _answers = threading.local()

    @property
    def _last_error(self):
        return getattr(self._answers, "error", None)

    @property
    def _last_status(self):
        return getattr(self._answers, "status", None)

    def _call(self, method, url, absent=False, conflict_ok=False, **kwargs):
        """One Compute API call; returns the JSON body, or None.

        :param absent: a 404 is success (None): what is gone is gone.
        :param conflict_ok: a 409 is success (None): what exists exists.
        :raises ComputeUnavailable: Nova unreachable, or 5xx after retries.
        :raises ComputeError: any other unexpected answer.
        """
        try:
            response = self._api.request(url, method, **kwargs)
        except ks_exceptions.ConnectionError as exc:
            raise exceptions.ComputeUnavailable(
                reason=f"{method} {url}: {exc}"
            )
        except ks_exceptions.ClientException as exc:
            # Authentication and catalog errors of the session.
            raise exceptions.ComputeUnavailable(
                reason=f"{method} {url}: {type(exc).__name__}: {exc}"
            )
        status = response.status_code
        self._answers.status = status
        if status < 400:
            return response.json() if response.content else {}
        self._answers.error = _message(response)
        if (status == 404 and absent) or (status == 409 and conflict_ok):
            return None
        reason = f"{method} {url} answered {status}: {self._last_error}"
        if status >= 500:
            raise exceptions.ComputeUnavailable(reason=reason)
        raise exceptions.ComputeError(reason=reason)


def _message(response):
    """Nova's error text: {"itemNotFound": {"message": ...}} and kin."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if isinstance(body, dict):
        for fault in body.values():
            if isinstance(fault, dict) and "message" in fault:
                return fault["message"]
    return str(body)[:200]
