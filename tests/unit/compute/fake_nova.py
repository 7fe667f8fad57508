"""A small fake of the Compute API on loopback, for the nova driver's
HTTP layer: hypervisors, services, aggregates and servers kept in memory,
with Nova's status codes for the cases the driver relies on.  It is not
Nova: tests/services/test_nova.py runs against the real one."""

import http.server
import json
import re
import threading
import urllib.parse
import uuid


class FakeNova:
    """State and behaviour; ``url`` is the endpoint to configure."""

    def __init__(self):
        self.hypervisors = {}  # hostname -> dict
        self.aggregates = {}  # id -> dict
        self.servers = {}  # id -> dict
        self.deleted = []  # servers deleted, listed with changes-since
        self.requests = []  # (method, path, headers)
        self.bodies = []  # (method, path, JSON body), as the requests
        self.fail_next = []  # status codes to answer before handling
        self.fail_matching = None  # (method, path regex, status)
        self.az_conflicts = set()  # hosts Nova refuses to move (409)
        self.down = set()  # service hosts whose nova-compute is down
        self.keep_servers = False  # deletes accepted but never done
        self.images = []  # (server id, image name) made by createImage
        self.image_ids = {}  # image id answered by createImage -> server id
        # A snapshot is taken while its server is shown this many times
        # (task_state image_uploading); a server deleted meanwhile loses
        # it, as in Nova (the unfinished image is deleted): lost_images.
        self.snapshot_polls = 1
        self.lost_images = []  # (server id, image name)
        self._snapshotting = {}  # server id -> (polls left, image id)
        self._next_id = 1
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), _handler(self)
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}/v2.1"
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        ).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def add_hypervisor(self, name, host=None, **extra):
        self.hypervisors[name] = {
            "id": str(uuid.uuid4()),
            "hypervisor_hostname": name,
            "service": {"host": host or name, "id": str(uuid.uuid4())},
            "vcpus": 8,
            "memory_mb": 16384,
            "local_gb": 200,
            "hypervisor_type": "fake",
            "hypervisor_version": 1000,
            "cpu_info": {"arch": "x86_64"},
            **extra,
        }

    def add_server(
        self,
        host,
        status="ACTIVE",
        created="2030-01-01T00:00:00Z",
        flavor=None,
        tenant_id="p1",
        name="vm",
    ):
        """A server; ``flavor`` is ``{"id", "vcpus", "ram", "disk"}``
        (listed by ``flavor=<id>``)."""
        server_id = str(uuid.uuid4())
        self.servers[server_id] = {
            "id": server_id,
            "name": name,
            "status": status,
            "tenant_id": tenant_id,
            "OS-EXT-SRV-ATTR:host": host,
            "created": created,
            "flavor": dict(flavor or {}),
        }
        return server_id

    def pools(self):
        return {
            a["name"]: (a["metadata"], sorted(a["hosts"]), a["az"])
            for a in self.aggregates.values()
        }

    def calls(self, method=None):
        return [(m, p) for m, p, _ in self.requests if method in (None, m)]

    # Request handling ---------------------------------------------------

    def handle(self, method, path, query, body):
        path = path.removeprefix("/v2.1")
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0), {
                    "computeFault": {"message": "injected", "code": 500}
                }
            if self.fail_matching:
                m, pattern, status = self.fail_matching
                if m == method and re.fullmatch(pattern, path):
                    return status, {"computeFault": {"message": "injected"}}
            return self._route(method, path, query, body)

    def _route(self, method, path, query, body):
        if path == "/os-hypervisors/detail":
            pattern = query.get("hypervisor_hostname_pattern", "")
            found = [h for n, h in self.hypervisors.items() if pattern in n]
            if not found:
                return _error(404, f"No hypervisor matching '{pattern}'")
            return 200, {"hypervisors": found}
        if path == "/os-services":
            hosts = (
                [query["host"]]
                if "host" in query
                else sorted(
                    {h["service"]["host"] for h in self.hypervisors.values()}
                )
            )
            return 200, {
                "services": [
                    {
                        "host": host,
                        "zone": "nova",
                        "binary": "nova-compute",
                        "state": "down" if host in self.down else "up",
                    }
                    for host in hosts
                ]
            }
        if path == "/servers/detail" and "flavor" in query:
            return 200, {
                "servers": [
                    self._show(s)
                    for s in self.servers.values()
                    if s["flavor"].get("id") == query["flavor"]
                ]
            }
        if path == "/servers/detail":
            servers = [
                s
                for s in self.servers.values()
                if s["OS-EXT-SRV-ATTR:host"] == query.get("host")
            ]
            if "changes-since" in query:
                # As Nova: deleted servers too, changed since that time.
                servers += [
                    s
                    for s in self.deleted
                    if s["OS-EXT-SRV-ATTR:host"] == query.get("host")
                ]
            return 200, {"servers": servers}
        match = re.fullmatch(r"/servers/([^/]+)(/action)?", path)
        if match:
            server = self.servers.get(match.group(1))
            if server is None:
                return _error(404, "Instance could not be found")
            if method == "DELETE":
                if not self.keep_servers:
                    self._lose_snapshot(server["id"])
                    self.deleted.append(self.servers.pop(server["id"]))
                return 204, None
            if method == "GET" and not match.group(2):
                return 200, {"server": self._show(server)}
            if "shelve" in body:
                server["status"] = "SHELVED_OFFLOADED"
                server["OS-EXT-SRV-ATTR:host"] = None
                return 202, None
            if "unshelve" in body:
                if server["status"] != "SHELVED_OFFLOADED":
                    return _error(409, "Cannot 'unshelve' while not shelved")
                wanted = (body["unshelve"] or {}).get("host")
                server["status"] = "ACTIVE"
                server["OS-EXT-SRV-ATTR:host"] = wanted or next(
                    iter(self.hypervisors)
                )
                return 202, None
            if "createImage" in body:
                # As Nova: an offloaded server has no disk to snapshot,
                # a busy one takes no second task.
                if server["status"] == "SHELVED_OFFLOADED":
                    return _error(409, "Cannot 'createImage' while shelved")
                if server.get("OS-EXT-STS:task_state"):
                    return _error(409, "Cannot 'createImage' while busy")
                name = body["createImage"]["name"]
                self.images.append((server["id"], name))
                image_id = str(uuid.uuid4())
                self.image_ids[image_id] = server["id"]
                if self.snapshot_polls:
                    server["OS-EXT-STS:task_state"] = "image_uploading"
                    self._snapshotting[server["id"]] = [
                        self.snapshot_polls,
                        image_id,
                    ]
                return 202, {"image_id": image_id}
        if path == "/os-aggregates" and method == "GET":
            return 200, {
                "aggregates": [self._view(a) for a in self.aggregates.values()]
            }
        if path == "/os-aggregates" and method == "POST":
            wanted = body["aggregate"]
            if any(
                a["name"] == wanted["name"] for a in self.aggregates.values()
            ):
                return _error(409, "Aggregate already exists")
            aggregate = {
                "id": self._next_id,
                "name": wanted["name"],
                "az": wanted.get("availability_zone"),
                "metadata": {},
                "hosts": [],
            }
            if aggregate["az"]:
                aggregate["metadata"]["availability_zone"] = aggregate["az"]
            self._next_id += 1
            self.aggregates[aggregate["id"]] = aggregate
            return 200, {"aggregate": self._view(aggregate)}
        match = re.fullmatch(r"/os-aggregates/(\d+)(/action)?", path)
        if match:
            aggregate = self.aggregates.get(int(match.group(1)))
            if aggregate is None:
                return _error(404, "Aggregate could not be found")
            if method == "DELETE":
                if aggregate["hosts"]:
                    return _error(400, "Host aggregate is not empty")
                del self.aggregates[aggregate["id"]]
                return 200, None
            ((action, args),) = body.items()
            if action == "set_metadata":
                aggregate["metadata"].update(args["metadata"])
            elif action == "add_host":
                host = args["host"]
                if host in aggregate["hosts"]:
                    return _error(409, "Aggregate already has host")
                if host in self.az_conflicts:
                    return _error(409, "One or more hosts contain instances")
                zone = self._zone(host)
                if aggregate["az"] and zone and zone != aggregate["az"]:
                    return _error(409, "Host already in availability zone")
                if (
                    aggregate["az"]
                    and zone != aggregate["az"]
                    and self._instances(host)
                ):
                    return _error(409, "the availability zone would change")
                aggregate["hosts"].append(host)
            elif action == "remove_host":
                host = args["host"]
                if host not in aggregate["hosts"]:
                    return _error(404, "Aggregate has no host")
                kept = self._zone(host, but=aggregate["id"])
                if (
                    aggregate["az"]
                    and kept != aggregate["az"]
                    and self._instances(host)
                ):
                    return _error(409, "the availability zone would change")
                aggregate["hosts"].remove(host)
            return 200, {"aggregate": self._view(aggregate)}
        return _error(404, f"no route {method} {path}")

    def _show(self, server):
        """The server as shown now; a snapshot under way advances."""
        view = dict(server)
        taking = self._snapshotting.get(server["id"])
        if taking is not None:
            taking[0] -= 1
            if taking[0] <= 0:
                del self._snapshotting[server["id"]]
                server["OS-EXT-STS:task_state"] = None
        return view

    def _lose_snapshot(self, server_id):
        taking = self._snapshotting.pop(server_id, None)
        if taking is None:
            return
        image_id = taking[1]
        del self.image_ids[image_id]
        for made in reversed(self.images):
            if made[0] == server_id:
                self.images.remove(made)
                self.lost_images.append(made)
                break

    def _zone(self, host, but=None):
        """The host's availability zone (Nova's rules: one at most)."""
        for aggregate in self.aggregates.values():
            if aggregate["id"] != but and host in aggregate["hosts"]:
                if aggregate["az"]:
                    return aggregate["az"]
        return None

    def _instances(self, host):
        return [
            s
            for s in self.servers.values()
            if s["OS-EXT-SRV-ATTR:host"] == host
        ]

    @staticmethod
    def _view(aggregate):
        return {
            "id": aggregate["id"],
            "name": aggregate["name"],
            "availability_zone": aggregate["az"],
            "metadata": dict(aggregate["metadata"]),
            "hosts": list(aggregate["hosts"]),
        }


def _error(status, message):
    name = {404: "itemNotFound", 409: "conflictingRequest"}.get(
        status, "badRequest"
    )
    return status, {name: {"message": message, "code": status}}


def _handler(fake):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self):
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            fake.requests.append(
                (self.command, parsed.path, dict(self.headers))
            )
            fake.bodies.append((self.command, parsed.path, body))
            status, answer = fake.handle(
                self.command, parsed.path, query, body
            )
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = _serve

        def log_message(self, *args):
            pass

    return Handler
