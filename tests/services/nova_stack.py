"""A real Nova for the tests: nova 34 and placement 16 from PyPI (the
``test`` extra), on MariaDB and a RabbitMQ vhost of their own.

``NovaStack(workdir, databases, transport_url).start()`` runs, each as a
process of its own stopped by its pid in ``stop()``:

* placement-api and nova-api under gunicorn (started with no arguments,
  reading ``gunicorn.conf.py`` from their own working directory, so nova
  parses a clean ``sys.argv``);
* nova-conductor, nova-scheduler (with Climate's ``ClimateFilter``) and
  two nova-compute with ``fake.FakeDriver``, hosts ``compute1`` and
  ``compute2``.

Without Keystone: nova-api runs a copy of nova's ``api-paste.ini`` without
``authtoken``, so it trusts the ``X-User-Id``, ``X-Project-Id`` and
``X-Roles`` headers; placement runs with ``auth_strategy = noauth2``.
Glance and Neutron, which nova calls even with the fake driver, are a
small HTTP stand-in served by a thread of the test process (one image,
empty network collections).  Facts: /work/shared/notes/nova.md.
"""

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import requests

from tests import helpers

BIN = os.path.dirname(sys.executable)
HOSTS = ("compute1", "compute2")
IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
#: Microversion of the tests' calls: 2.37 boots with "networks": "none".
MICROVERSION = "2.53"
PLACEMENT_TOKEN = "admin"  # noqa: S105  (placement's noauth2 admin token)
#: Seconds between a nova-compute's heartbeats, and without one before
#: nova-api reports its service down.
REPORT_INTERVAL = 5
SERVICE_DOWN_TIME = 30


def available():
    """None if nova, placement and gunicorn are installed, else why not."""
    for command in (
        "nova-manage",
        "placement-manage",
        "nova-conductor",
        "nova-scheduler",
        "nova-compute",
        "gunicorn",
    ):
        if not os.path.exists(os.path.join(BIN, command)):
            return f"{command} is not installed in {BIN}"
    return None


def headers(project, user="user", roles="member,reader"):
    """Identity headers nova-api trusts (no authtoken in its pipeline)."""
    return {
        "X-User-Id": user,
        "X-Project-Id": project,
        "X-Roles": roles,
        # Passed on to the Glance and Neutron stand-ins.
        "X-Auth-Token": "unchecked",
        "OpenStack-API-Version": f"compute {MICROVERSION}",
    }


ADMIN = headers("admin-project", user="admin", roles="admin,member,reader")


# Glance and Neutron stand-in -------------------------------------------------


def _image(base):
    return {
        "id": IMAGE_ID,
        "name": "fake-image",
        "status": "active",
        "visibility": "public",
        "protected": False,
        "container_format": "bare",
        "disk_format": "raw",
        "min_disk": 0,
        "min_ram": 0,
        "size": 1024,
        "virtual_size": 1024,
        "owner": "admin-project",
        "checksum": "0" * 32,
        "os_hash_algo": "sha512",
        "os_hash_value": "0" * 128,
        "os_hidden": False,
        "tags": [],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "self": f"/v2/images/{IMAGE_ID}",
        "file": f"/v2/images/{IMAGE_ID}/file",
        "schema": "/v2/schemas/image",
    }


_IMAGE_SCHEMA = {
    "name": "image",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": ["null", "string"]},
        "status": {"type": "string"},
        "visibility": {"type": "string"},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "container_format": {"type": ["null", "string"]},
        "disk_format": {"type": ["null", "string"]},
        "min_disk": {"type": "integer"},
        "min_ram": {"type": "integer"},
        "size": {"type": ["null", "integer"]},
        "virtual_size": {"type": ["null", "integer"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "locations": {"type": "array"},
    },
    "additionalProperties": {"type": "string"},
}


_MEMBER_SCHEMA = {
    "name": "member",
    "properties": {
        "image_id": {"type": "string"},
        "member_id": {"type": "string"},
        "status": {"type": "string"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "schema": {"type": "string"},
    },
}


class _StandIn(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kind = None  # "image" or "network"
    snapshots = None  # the images made by shelve: {id: image}

    def log_message(self, format, *args):  # noqa: A002
        pass

    def _answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _base(self):
        return f"http://{self.headers.get('Host')}"

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if self.kind == "image":
            if path == "":
                self._answer(
                    200,
                    {
                        "versions": [
                            {
                                "id": "v2.9",
                                "status": "CURRENT",
                                "links": [
                                    {
                                        "rel": "self",
                                        "href": self._base() + "/v2/",
                                    }
                                ],
                            }
                        ]
                    },
                )
            elif path == "/v2/schemas/image":
                self._answer(200, _IMAGE_SCHEMA)
            elif path == "/v2/schemas/member":
                self._answer(200, _MEMBER_SCHEMA)
            elif path.removeprefix("/v2/images/") in self.snapshots:
                self._answer(
                    200, self.snapshots[path.removeprefix("/v2/images/")]
                )
            elif path == f"/v2/images/{IMAGE_ID}":
                self._answer(200, _image(self._base()))
            elif path == "/v2/images":
                self._answer(200, {"images": [_image(self._base())]})
            else:
                self._answer(404, {"message": f"{path} not found"})
            return
        if path == "":
            self._answer(
                200,
                {
                    "versions": [
                        {
                            "id": "v2.0",
                            "status": "CURRENT",
                            "links": [
                                {
                                    "rel": "self",
                                    "href": self._base() + "/v2.0/",
                                }
                            ],
                        }
                    ]
                },
            )
            return
        match = re.fullmatch(r"/v2\.0/([a-z_-]+?)(?:\.json)?", path)
        if match:
            self._answer(200, {match.group(1).replace("-", "_"): []})
        else:
            self._answer(404, {"NeutronError": {"message": "not found"}})

    def do_POST(self):
        path = self.path.split("?")[0].rstrip("/")
        if self.kind == "image" and path == "/v2/images":
            # A snapshot (shelve, createImage): kept until deleted.
            length = int(self.headers.get("Content-Length") or 0)
            asked = json.loads(self.rfile.read(length) or b"{}")
            image = dict(
                _image(self._base()),
                id=str(uuid.uuid4()),
                status="queued",
                visibility="private",
            )
            image.update(
                {k: v for k, v in asked.items() if isinstance(v, str)}
            )
            self.snapshots[image["id"]] = image
            self._answer(201, image)
            return
        if self.kind == "image" and path.endswith("/members"):
            # Shelve by an admin shares the snapshot with the owner.
            length = int(self.headers.get("Content-Length") or 0)
            asked = json.loads(self.rfile.read(length) or b"{}")
            self._answer(
                200,
                {
                    "image_id": path.split("/")[3],
                    "member_id": asked.get("member"),
                    "status": "accepted",
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                    "schema": "/v2/schemas/member",
                },
            )
            return
        self._drain()
        self._answer(404, {"message": "not supported by the stand-in"})

    def do_PUT(self):
        self._drain()
        path = self.path.split("?")[0].rstrip("/")
        if self.kind == "image" and "/members/" in path:
            parts = path.split("/")
            self._answer(
                200,
                {
                    "image_id": parts[3],
                    "member_id": parts[5],
                    "status": "accepted",
                },
            )
            return
        image_id = path.removeprefix("/v2/images/").removesuffix("/file")
        if self.kind == "image" and image_id in self.snapshots:
            self.snapshots[image_id]["status"] = "active"
            self._answer(204)
            return
        self._answer(404, {"message": "not supported by the stand-in"})

    def do_PATCH(self):
        self._drain()
        path = self.path.split("?")[0].rstrip("/")
        image_id = path.removeprefix("/v2/images/")
        if self.kind == "image" and image_id in self.snapshots:
            self._answer(200, self.snapshots[image_id])
            return
        self._answer(404, {"message": "not supported by the stand-in"})

    def do_DELETE(self):
        self._drain()
        path = self.path.split("?")[0].rstrip("/")
        self.snapshots.pop(path.removeprefix("/v2/images/"), None)
        self._answer(204)


class StandIn:
    """Glance (``kind="image"``) or Neutron (``"network"``) on a port."""

    def __init__(self, kind):
        handler = type(
            f"{kind}Handler", (_StandIn,), {"kind": kind, "snapshots": {}}
        )
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), handler
        )
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# The stack -------------------------------------------------------------------


class Process:
    """A process of the stack, its output in ``<workdir>/<name>.log``."""

    def __init__(self, name, argv, log_path, cwd=None, env=None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    @property
    def pid(self):
        return self.process.pid

    def assert_running(self):
        if self.process.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.process.returncode}:\n"
                f"{self.log()[-4000:]}"
            )

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def signal(self):
        if self.process.poll() is None:
            # A process a test paused must run to hear the SIGTERM.
            os.kill(self.process.pid, signal.SIGCONT)
            os.kill(self.process.pid, signal.SIGTERM)

    def stop(self, timeout=15):
        self.signal()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


class NovaStack:
    """Placement and Nova in ``workdir``: ``start()``, then ``stop()``.

    :param databases: URLs of empty MariaDB databases, keyed ``nova_api``,
        ``nova``, ``nova_cell0`` and ``placement``.
    :param transport_url: a RabbitMQ vhost of this stack alone.
    """

    def __init__(self, workdir, databases, transport_url, climate_url=None):
        self.workdir = str(workdir)
        # With it, nova-api's pipeline runs climate.nova.api against
        # that Lease API.
        self.climate_url = climate_url
        self.databases = {
            key: _with_charset(url) for key, url in databases.items()
        }
        self.transport_url = transport_url
        self.placement_port = helpers.free_port()
        self.api_port = helpers.free_port()
        self.placement_url = f"http://127.0.0.1:{self.placement_port}"
        self.url = f"http://127.0.0.1:{self.api_port}/v2.1"
        self.nova_conf = os.path.join(self.workdir, "nova.conf")
        self.processes = []
        self.glance = self.neutron = None

    # Starting ----------------------------------------------------------------

    def start(self, timeout=180):
        deadline = time.monotonic() + timeout
        self.glance = StandIn("image")
        self.neutron = StandIn("network")
        self._write_configs()
        self._run("placement-manage", "db", "sync", conf=self._placement_conf)
        self._run("nova-manage", "api_db", "sync")
        self._run(
            "nova-manage",
            "cell_v2",
            "map_cell0",
            "--database_connection",
            self.databases["nova_cell0"],
        )
        self._run("nova-manage", "cell_v2", "create_cell", "--name", "cell1")
        self._run("nova-manage", "db", "sync")
        self._gunicorn(
            "placement-api",
            "placement.wsgi.api:application",
            self.placement_port,
            {"OS_PLACEMENT_CONFIG_DIR": self._placement_dir},
        )
        self._gunicorn(
            "nova-api",
            "nova.wsgi.osapi_compute:application",
            self.api_port,
            {
                "OS_NOVA_CONFIG_DIR": self.workdir,
                "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf",
            },
        )
        self._service("nova-conductor", "nova-conductor")
        self._service("nova-scheduler", "nova-scheduler")
        for host in HOSTS:
            self._service(
                f"nova-compute-{host}",
                "nova-compute",
                os.path.join(self.workdir, f"{host}.conf"),
            )
        self._wait(
            self._computes_up, deadline, "both nova-compute services up"
        )
        # discover_hosts maps only the hosts whose compute node exists
        # already, and an unmapped host cannot join an aggregate: repeat
        # it until both are mapped.
        self._wait(self._hosts_mapped, deadline, "both hosts mapped")
        self._wait(
            self._hypervisors_ready,
            deadline,
            "both hypervisors listed with their inventory in placement",
        )
        self.flavor = self._flavor()

    def _write_configs(self):
        path = self.workdir
        self._placement_dir = os.path.join(path, "placement")
        os.makedirs(self._placement_dir, exist_ok=True)
        self._placement_conf = os.path.join(
            self._placement_dir, "placement.conf"
        )
        helpers.write_config(
            self._placement_conf,
            {
                "DEFAULT": {"use_stderr": "true"},
                "api": {"auth_strategy": "noauth2"},
                "placement_database": {
                    "connection": self.databases["placement"]
                },
            },
        )
        paste = os.path.join(BIN, "..", "etc", "nova", "api-paste.ini")
        with open(paste) as source:
            text = source.read()
        # No Keystone: nova builds the context from the identity headers.
        text = text.replace(" authtoken keystonecontext", " keystonecontext")
        if self.climate_url:
            text = text.replace(
                "keystonecontext osapi_compute_app_v21",
                "keystonecontext climate osapi_compute_app_v21",
            )
            text += (
                "\n[filter:climate]\n"
                "paste.filter_factory = climate.nova.api:filter_factory\n"
                f"climate_url = {self.climate_url}\n"
            )
        with open(os.path.join(path, "api-paste.ini"), "w") as target:
            target.write(text)
        # Written by hand: [filter_scheduler] repeats available_filters.
        conf = textwrap.dedent(
            f"""\
            [DEFAULT]
            transport_url = {self.transport_url}
            state_path = {path}/state
            instances_path = {path}/instances
            compute_driver = fake.FakeDriver
            use_stderr = true
            my_ip = 127.0.0.1
            debug = false
            # A stopped nova-compute is reported down within about
            # service_down_time (tests of healing wait for it).
            report_interval = {REPORT_INTERVAL}
            service_down_time = {SERVICE_DOWN_TIME}

            [api_database]
            connection = {self.databases["nova_api"]}

            [database]
            connection = {self.databases["nova"]}

            [wsgi]
            api_paste_config = {path}/api-paste.ini

            [oslo_concurrency]
            lock_path = {path}/locks

            [conductor]
            workers = 1

            [scheduler]
            workers = 1
            discover_hosts_in_cells_interval = -1

            [filter_scheduler]
            available_filters = nova.scheduler.filters.all_filters
            available_filters = climate.scheduler.filters.ClimateFilter
            enabled_filters = ComputeFilter,ClimateFilter

            [climate]
            freepool_name = freepool

            [placement]
            auth_type = admin_token
            endpoint = {self.placement_url}
            token = {PLACEMENT_TOKEN}

            [glance]
            endpoint_override = {self.glance.url}
            num_retries = 0

            [neutron]
            endpoint_override = {self.neutron.url}
            auth_type = admin_token
            endpoint = {self.neutron.url}
            token = unchecked

            [cinder]
            os_region_name = RegionOne

            # Flavor access checks the project with Keystone: unreachable
            # (a closed port), nova lets it pass.
            [keystone]
            endpoint_override = http://127.0.0.1:9/v3

            [vnc]
            enabled = false

            [oslo_messaging_notifications]
            driver = noop

            [notifications]
            notification_format = unversioned
            """
        )
        with open(self.nova_conf, "w") as target:
            target.write(conf)
        for host in HOSTS:
            helpers.write_config(
                os.path.join(path, f"{host}.conf"),
                {
                    "DEFAULT": {
                        "host": host,
                        "state_path": f"{path}/state-{host}",
                        "instances_path": f"{path}/instances-{host}",
                    }
                },
            )

    def _run(self, command, *args, conf=None):
        result = subprocess.run(
            [
                os.path.join(BIN, command),
                "--config-file",
                conf or self.nova_conf,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.workdir,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{command} {' '.join(args)} failed:\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    def _gunicorn(self, name, app, port, env):
        cwd = os.path.join(self.workdir, name)
        os.makedirs(cwd, exist_ok=True)
        with open(os.path.join(cwd, "gunicorn.conf.py"), "w") as f:
            f.write(
                textwrap.dedent(
                    f"""\
                    # Read by gunicorn from its working directory.
                    wsgi_app = "{app}"
                    bind = "127.0.0.1:{port}"
                    workers = 1
                    worker_class = "gthread"
                    threads = 4
                    timeout = 120
                    # Not ~/.gunicorn/gunicorn.ctl, which servers share.
                    control_socket_disable = True
                    """
                )
            )
        self._start(
            name,
            [os.path.join(BIN, "gunicorn")],
            cwd=cwd,
            env=dict(os.environ, **env),
        )

    def _service(self, name, command, *extra):
        argv = [os.path.join(BIN, command), "--config-file", self.nova_conf]
        for conf in extra:
            argv += ["--config-file", conf]
        self._start(name, argv, cwd=self.workdir, env=dict(os.environ))

    def _start(self, name, argv, cwd, env):
        process = Process(
            name,
            argv,
            os.path.join(self.workdir, f"{name}.log"),
            cwd=cwd,
            env=env,
        )
        self.processes.append(process)
        return process

    def _wait(self, predicate, deadline, message):
        while True:
            for process in self.processes:
                process.assert_running()
            try:
                if predicate():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message}")
            time.sleep(0.5)

    def _computes_up(self):
        response = self.get(
            "/os-services", params={"binary": "nova-compute"}, timeout=5
        )
        if response.status_code != 200:
            return False
        up = {
            s["host"]
            for s in response.json()["services"]
            if s["state"] == "up"
        }
        return up >= set(HOSTS)

    def _hosts_mapped(self):
        self._run("nova-manage", "cell_v2", "discover_hosts")
        listed = self._run("nova-manage", "cell_v2", "list_hosts").stdout
        return all(f" {host} " in listed for host in HOSTS)

    def _hypervisors_ready(self):
        response = self.get("/os-hypervisors/detail", timeout=5)
        if response.status_code != 200:
            return False
        names = {
            h["hypervisor_hostname"] for h in response.json()["hypervisors"]
        }
        if not names >= set(HOSTS):
            return False
        providers = requests.get(
            f"{self.placement_url}/resource_providers",
            headers={
                "X-Auth-Token": PLACEMENT_TOKEN,
                "OpenStack-API-Version": "placement 1.14",
            },
            timeout=5,
        ).json()["resource_providers"]
        with_inventory = set()
        for provider in providers:
            inventories = requests.get(
                f"{self.placement_url}/resource_providers/"
                f"{provider['uuid']}/inventories",
                headers={"X-Auth-Token": PLACEMENT_TOKEN},
                timeout=5,
            ).json()["inventories"]
            if "VCPU" in inventories:
                with_inventory.add(provider["name"])
        return with_inventory >= set(HOSTS)

    def _flavor(self):
        response = self.post(
            "/flavors",
            {"flavor": {"name": "tiny", "ram": 64, "vcpus": 1, "disk": 1}},
        )
        assert response.status_code == 200, response.text
        return response.json()["flavor"]["id"]

    # A compute failing -----------------------------------------------------

    def _compute(self, host):
        for process in self.processes:
            if process.name == f"nova-compute-{host}":
                return process
        raise KeyError(host)

    def stop_compute(self, host):
        """Pause ``host``'s nova-compute (SIGSTOP): it stops reporting,
        and nova-api says its service is down within
        ``SERVICE_DOWN_TIME`` seconds."""
        os.kill(self._compute(host).pid, signal.SIGSTOP)

    def start_compute(self, host):
        """Let a paused nova-compute run again (SIGCONT)."""
        os.kill(self._compute(host).pid, signal.SIGCONT)

    def compute_state(self, host):
        """``"up"`` or ``"down"``: nova-compute's state as nova-api
        reports it."""
        response = self.get(
            "/os-services", params={"binary": "nova-compute", "host": host}
        )
        assert response.status_code == 200, response.text
        (service,) = response.json()["services"]
        return service["state"]

    # Stopping ----------------------------------------------------------------

    def stop(self):
        """Stop every process by its pid (all signalled first), then the
        stand-ins."""
        for process in self.processes:
            process.signal()
        for process in reversed(self.processes):
            process.stop()
        for stand_in in (self.glance, self.neutron):
            if stand_in is not None:
                stand_in.stop()

    def logs(self, tail=3000):
        return "\n".join(
            f"--- {p.name} (pid {p.pid}) ---\n{p.log()[-tail:]}"
            for p in self.processes
        )

    # The Compute API ---------------------------------------------------------

    def get(self, path, headers=ADMIN, **kwargs):
        kwargs.setdefault("timeout", 60)
        return requests.get(self.url + path, headers=headers, **kwargs)

    def post(self, path, body, headers=ADMIN, **kwargs):
        kwargs.setdefault("timeout", 60)
        return requests.post(
            self.url + path, json=body, headers=headers, **kwargs
        )

    def delete(self, path, headers=ADMIN, **kwargs):
        kwargs.setdefault("timeout", 60)
        return requests.delete(self.url + path, headers=headers, **kwargs)

    def aggregates(self):
        """``{name: aggregate}`` of every aggregate."""
        response = self.get("/os-aggregates")
        assert response.status_code == 200, response.text
        return {a["name"]: a for a in response.json()["aggregates"]}

    def boot(self, project, hint=None, name="server"):
        """Boot a server in ``project``; return its id."""
        body = {
            "server": {
                "name": name,
                "imageRef": IMAGE_ID,
                "flavorRef": self.flavor,
                "networks": "none",
            }
        }
        if hint is not None:
            body["os:scheduler_hints"] = {"reservation": hint}
        response = self.post("/servers", body, headers=headers(project))
        assert response.status_code == 202, response.text
        return response.json()["server"]["id"]

    def server(self, server_id):
        response = self.get(f"/servers/{server_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()["server"]

    def wait_server(self, server_id, timeout=60):
        """Wait until the server is ACTIVE or ERROR; return it."""

        def settled():
            server = self.server(server_id)
            if server and server["status"] in ("ACTIVE", "ERROR"):
                return server
            return None

        return helpers.wait_for(
            settled, timeout, interval=0.3, message=f"server {server_id}"
        )

    def servers_on(self, host):
        response = self.get(
            "/servers/detail", params={"all_tenants": 1, "host": host}
        )
        assert response.status_code == 200, response.text
        return response.json()["servers"]


def _with_charset(url):
    return url + ("&" if "?" in url else "?") + "charset=utf8mb4"
