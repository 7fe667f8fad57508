"""The Python client against a real climate-all, and the ways the
``climate`` and ``openstack`` commands reach it: an endpoint without
Keystone, keystoneauth1 options and a service catalog, clouds.yaml, and the
OpenStackClient plugin."""

import http.server
import io
import json
import os
import subprocess
import threading
import uuid

import pytest
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

import climateclient
from climateclient import exceptions
from climateclient.cli import shell
from tests import helpers
from tests.functional.climateclient import support

pytestmark = pytest.mark.functional


@pytest.fixture
def client(service, project):
    return climateclient.Client(endpoint=service.url, project_id=project)


@pytest.fixture
def admin(service, project):
    return climateclient.Client(
        endpoint=service.url, project_id=project, roles=["admin"]
    )


# The Python client ----------------------------------------------------------


def test_leases_through_the_python_client(client, project):
    lease = client.leases.create(
        "py", "now", helpers.future(hours=2), reservations=[]
    )

    assert lease["status"] == "PENDING"
    assert lease["project_id"] == project
    assert client.leases.get(lease["id"])["name"] == "py"
    assert client.leases.find("py")["id"] == lease["id"]
    assert client.leases.find(lease["id"])["id"] == lease["id"]
    assert [row["id"] for row in client.leases.list(name="py")] == [
        lease["id"]
    ]

    # Durations are the server's to compute.
    moved = client.leases.update(lease["id"], prolong_for="1d", name="py2")
    assert moved["name"] == "py2"
    assert moved["end_date"] > lease["end_date"]
    with pytest.raises(TypeError, match="unknown lease field"):
        client.leases.update(lease["id"], extend_by="1d")

    client.leases.delete(lease["id"])
    with pytest.raises(exceptions.NotFound) as error:
        client.leases.get(lease["id"])
    assert error.value.code == 404
    assert error.value.name == "LeaseNotFound"
    assert error.value.request_id.startswith("req-")
    assert error.value.message == f"Lease {lease['id']} could not be found"


def test_typed_errors_carry_the_servers_words(service, client, admin, project):
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    admin.hosts.create(f"{pool}-a", pool=pool)
    query = f'["==", "$pool", "{pool}"]'
    wanted = [
        {
            "resource_type": "physical:host",
            "min": 2,
            "max": 2,
            "resource_properties": query,
        }
    ]

    with pytest.raises(exceptions.Conflict) as full:
        client.leases.create("big", "now", helpers.future(hours=1), wanted)
    with pytest.raises(exceptions.BadRequest) as bad:
        client.leases.create("bad", "tomorrow", helpers.future(hours=1))
    with pytest.raises(exceptions.Forbidden) as tenant:
        client.hosts.list()
    for other in ("a", "b"):
        climateclient.Client(
            endpoint=service.url, project_id=f"{project}-{other}"
        ).leases.create("twin", "now", helpers.future(hours=1))
    # An admin looking a name up in every project.
    with pytest.raises(exceptions.NoUniqueMatch, match="2 leases are named"):
        admin.leases.find("twin", all_projects=True)

    assert full.value.name == "NotEnoughResourcesAvailable"
    assert full.value.code == 409
    assert "2 hosts needed" in full.value.message
    assert bad.value.name == "InvalidDate"
    assert "Invalid start_date 'tomorrow'" in bad.value.message
    assert tenant.value.code == 403
    for error in (full.value, bad.value, tenant.value):
        assert isinstance(error, exceptions.HTTPError)
        assert isinstance(error, exceptions.ClientException)
        assert error.request_id.startswith("req-")


def test_hosts_properties_and_allocations(client, admin):
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    prop = f"p_{uuid.uuid4().hex[:8]}"
    host = admin.hosts.create(f"{pool}-a", pool=pool, **{prop: "v"})
    lease = client.leases.create(
        "held",
        helpers.future(hours=1),
        helpers.future(hours=2),
        [
            {
                "resource_type": "physical:host",
                "min": 1,
                "max": 1,
                "resource_properties": f'["==", "$pool", "{pool}"]',
            }
        ],
    )

    assert admin.hosts.find(f"{pool}-a")["id"] == host["id"]
    assert admin.hosts.find(host["id"])["hypervisor_hostname"] == f"{pool}-a"
    assert admin.hosts.get(host["id"])[prop] == "v"
    assert admin.hosts.update(host["id"], {prop: None}).get(prop) is None
    assert admin.hosts.update(host["id"], {prop: "w"})[prop] == "w"
    assert admin.host_properties.get(prop)["values"] == ["w"]
    assert admin.host_properties.update(prop, private=True)["private"]
    assert {"property": prop} in admin.host_properties.list()
    with pytest.raises(exceptions.NotFound, match="No host has a property"):
        admin.host_properties.get("nosuch")

    [allocation] = admin.allocations.list("host", lease_id=lease["id"])
    assert allocation["resource_id"] == host["id"]
    shown = admin.allocations.get("host", host["id"])
    assert [r["lease_id"] for r in shown["reservations"]] == [lease["id"]]
    with pytest.raises(ValueError, match="unknown resource type"):
        admin.allocations.list("network")

    with pytest.raises(exceptions.Conflict):
        admin.hosts.delete(host["id"])
    client.leases.delete(lease["id"])
    admin.hosts.delete(host["id"])
    with pytest.raises(exceptions.NotFound):
        admin.hosts.find(f"{pool}-a")


def test_endpoint_with_v1_and_a_keystoneauth_session(service, project):
    with_version = climateclient.Client(
        endpoint=f"{service.url}/v1/", project_id=project
    )
    # A session whose auth plugin names the endpoint, as a catalog would.
    session = ks_session.Session(auth=noauth.NoAuth(endpoint=service.url))
    with_session = climateclient.Client(session=session, project_id=project)

    lease = with_version.leases.create("v1", "now", helpers.future(hours=1))

    assert with_session.leases.find("v1")["id"] == lease["id"]


def test_a_service_that_is_not_there():
    client = climateclient.Client(
        endpoint=f"http://127.0.0.1:{helpers.free_port()}", timeout=5
    )

    with pytest.raises(exceptions.ConnectionFailed, match="Unable to connect"):
        client.leases.list()


# Keystone, a catalog and clouds.yaml ----------------------------------------


class FakeKeystone(http.server.ThreadingHTTPServer):
    """Just enough of Keystone's v3 API for keystoneauth1's password
    plugin: version discovery and a token whose catalog lists the
    reservation service.  It stands for a Keystone on another machine."""

    def __init__(self, reservation_url):
        super().__init__(("127.0.0.1", 0), _KeystoneHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v3"
        self.reservation_url = reservation_url
        self.auth_requests = []

    def catalog(self):
        endpoint = {"region": "RegionOne", "region_id": "RegionOne"}
        return [
            {
                "type": "reservation",
                "name": "climate",
                "id": "svc1",
                "endpoints": [
                    {
                        **endpoint,
                        "id": "e1",
                        "interface": "public",
                        "url": f"{self.reservation_url}/v1",
                    },
                    {
                        # Nothing listens there: only "internal" finds it.
                        **endpoint,
                        "id": "e2",
                        "interface": "internal",
                        "url": f"http://127.0.0.1:{helpers.free_port()}/v1",
                    },
                ],
            }
        ]


class _KeystoneHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        version = {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-01-01T00:00:00Z",
            "links": [{"rel": "self", "href": self.server.url + "/"}],
        }
        self._reply(200, {"version": version})

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        self.server.auth_requests.append(request)
        domain = {"id": "default", "name": "Default"}
        token = {
            "methods": ["password"],
            "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2020-01-01T00:00:00.000000Z",
            "user": {"id": "u1", "name": "alice", "domain": domain},
            "project": {"id": "p1", "name": "demo", "domain": domain},
            "roles": [{"id": "r1", "name": "member"}],
            "catalog": self.server.catalog(),
        }
        self._reply(201, {"token": token}, [("X-Subject-Token", "tok-1")])


@pytest.fixture
def keystone(service):
    server = FakeKeystone(service.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_shell(argv, environ):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = shell.ClimateShell(
        stdout=stdout, stderr=stderr, environ=environ
    ).run(argv)
    return support.Result(code, stdout.getvalue(), stderr.getvalue())


def test_keystone_password_and_the_catalog(keystone):
    environ = {
        "OS_AUTH_URL": keystone.url,
        "OS_USERNAME": "alice",
        "OS_PASSWORD": "secret",
        "OS_PROJECT_NAME": "demo",
        "OS_USER_DOMAIN_ID": "default",
        "OS_PROJECT_DOMAIN_ID": "default",
    }
    name = f"ks-{uuid.uuid4().hex[:8]}"

    created = run_shell(
        ["lease", "create", name, "--duration", "1h", "-f", "json"], environ
    )
    shown = run_shell(
        ["--os-password", "other", "lease", "show", name, "-f", "json"],
        environ,
    )
    internal = run_shell(
        ["--os-interface", "internal", "lease", "list"], environ
    )

    assert created.json()["name"] == name
    assert shown.json()["id"] == created.json()["id"]
    [first, second, _] = keystone.auth_requests
    password = first["auth"]["identity"]["password"]["user"]
    assert (password["name"], password["password"]) == ("alice", "secret")
    assert first["auth"]["scope"]["project"]["name"] == "demo"
    assert second["auth"]["identity"]["password"]["user"]["password"] == (
        "other"
    )
    # The internal endpoint of the catalog was used, and is not there.
    assert internal.code == 1
    assert "Unable to connect" in internal.stderr


def test_keystone_refusing_is_said(service):
    environ = {
        "OS_AUTH_URL": f"http://127.0.0.1:{helpers.free_port()}/v3",
        "OS_USERNAME": "alice",
        "OS_PASSWORD": "secret",
        "OS_PROJECT_NAME": "demo",
    }

    done = run_shell(["lease", "list"], environ)

    assert done.code == 1
    assert "Unable to connect" in done.stderr


def test_clouds_yaml(service, keystone, tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        json.dumps(
            {
                "clouds": {
                    "embedded": {
                        "auth_type": "none",
                        "auth": {"endpoint": service.url},
                    },
                    "keystone": {
                        "auth": {
                            "auth_url": keystone.url,
                            "username": "bob",
                            "password": "pw",
                            "project_name": "demo",
                            "user_domain_id": "default",
                            "project_domain_id": "default",
                        },
                        "region_name": "RegionOne",
                    },
                }
            }
        )
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    name = f"cloud-{uuid.uuid4().hex[:8]}"

    created = run_shell(
        ["--os-cloud", "embedded", "lease", "create", name, "-f", "json"], {}
    )
    listed = run_shell(
        ["lease", "list", "-f", "json"], {"OS_CLOUD": "keystone"}
    )
    missing = run_shell(["--os-cloud", "nosuch", "lease", "list"], {})

    assert created.json()["name"] == name
    assert name in [row["name"] for row in listed.json()]
    user = keystone.auth_requests[-1]["auth"]["identity"]["password"]["user"]
    assert user["name"] == "bob"
    assert missing.code == 1
    assert "Cannot use cloud 'nosuch'" in missing.stderr


def test_keystoneauth_none_plugin(service):
    done = run_shell(
        [
            "--os-auth-type",
            "none",
            "--os-endpoint",
            service.url,
            "lease",
            "list",
            "-f",
            "json",
        ],
        {},
    )

    assert done.code == 0, done
    assert isinstance(done.json(), list)


# The openstack command ------------------------------------------------------


def openstack(service, *argv, **environ):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "CLIMATE_"))
    }
    env.update(environ)
    done = subprocess.run(
        [
            os.path.join(support.BIN, "openstack"),
            "--os-auth-type",
            "none",
            "--os-endpoint",
            service.url,
            "reservation",
            *argv,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return support.Result(done.returncode, done.stdout, done.stderr)


def test_openstack_reservation_commands(service, project):
    name = f"osc-{uuid.uuid4().hex[:8]}"

    created = openstack(
        service,
        "lease",
        "create",
        name,
        "--duration",
        "1h",
        "--reservation",
        support.RECORDER,
        "--wait",
        "-f",
        "json",
        CLIMATE_PROJECT_ID=project,
    )
    listed = openstack(
        service, "lease", "list", "-f", "json", CLIMATE_PROJECT_ID=project
    )
    refused = openstack(service, "host", "list", CLIMATE_PROJECT_ID=project)

    lease = created.json()
    assert lease["status"] == "ACTIVE"
    assert lease["project_id"] == project
    assert f"Lease {name} ({lease['id']}) is ACTIVE" in created.stderr
    assert [row["name"] for row in listed.json()] == [name]
    assert refused.code == 1
    assert "(HTTP 403" in refused.stderr


def _openstack_without_options(*argv, **environ):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "CLIMATE_"))
    }
    env.update(environ)
    done = subprocess.run(
        [os.path.join(support.BIN, "openstack"), "reservation", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return support.Result(done.returncode, done.stdout, done.stderr)


def test_openstack_reservation_reads_climate_url(service, project):
    name = f"osc-url-{uuid.uuid4().hex[:8]}"
    environ = {"CLIMATE_URL": service.url, "CLIMATE_PROJECT_ID": project}

    created = _openstack_without_options(
        "lease", "create", name, "--duration", "1h", "-f", "json", **environ
    )
    listed = _openstack_without_options(
        "lease", "list", "-f", "json", **environ
    )
    # A cloud named as well: that is what the openstack command uses.
    cloud = _openstack_without_options(
        "lease", "list", OS_CLOUD="nosuch", **environ
    )

    assert created.json()["project_id"] == project
    assert [row["name"] for row in listed.json()] == [name]
    assert cloud.code == 1
    assert "nosuch" in cloud.stderr
