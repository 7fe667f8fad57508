"""``[api] auth_strategy = keystone`` against a real Keystone.

Keystone (from PyPI, in the test environment) runs on SQLite under
gunicorn; ``climate-all`` runs as a real process with keystonemiddleware's
auth_token in front of its API, validating every token with that Keystone
through its own service user.  Users log in with passwords and send the
tokens they get.
"""

import datetime
import time

import pytest
import requests
from keystoneauth1 import loading as ks_loading

from climate.common import service_auth
from tests import helpers
from tests.services import keystone_server
from tests.services.conftest import unavailable

pytestmark = pytest.mark.services

# Tokens live this long, so one test can watch a token expire.
TOKEN_LIFETIME = 15
PASSWORD = "pw-for-tests"  # noqa: S105
START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


class Cloud:
    """The Keystone, its projects and users, and Climate behind it."""

    def __init__(self, keystone):
        self.keystone = keystone
        self.projects = {
            name: keystone.project(name)
            for name in ("project-a", "project-b", "service")
        }
        self.users = {
            "alice": keystone.user(
                "alice", PASSWORD, self.projects["project-a"], ["member"]
            ),
            "carol": keystone.user(
                "carol", PASSWORD, self.projects["project-a"], ["reader"]
            ),
            "bob": keystone.user(
                "bob", PASSWORD, self.projects["project-b"], ["member"]
            ),
            # Climate's own user, allowed to validate tokens.
            "climate": keystone.user(
                "climate", PASSWORD, self.projects["service"], ["service"]
            ),
        }
        self.home = {
            "alice": "project-a",
            "carol": "project-a",
            "bob": "project-b",
            "climate": "service",
        }
        self.url = None

    def token(self, user):
        if user == "admin":
            return self.keystone.admin_token()
        return self.keystone.token(user, PASSWORD, self.home[user])[0]

    def headers(self, user):
        return {"X-Auth-Token": self.token(user)}

    def credentials(self):
        """The climate user's password auth options."""
        return {
            "auth_type": "password",
            "auth_url": self.keystone.auth_url,
            "username": "climate",
            "password": PASSWORD,
            "user_domain_id": "default",
            "project_name": "service",
            "project_domain_id": "default",
        }


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    missing = keystone_server.available()
    if missing:
        unavailable(missing)
    workdir = tmp_path_factory.mktemp("keystone")
    keystone = keystone_server.KeystoneServer(
        workdir, token_expiration=TOKEN_LIFETIME
    )
    try:
        keystone.start()
        cloud = Cloud(keystone)
        port = helpers.free_port()
        config_file = helpers.write_config(
            workdir / "climate.conf",
            {
                "DEFAULT": {"state_path": workdir / "climate-state"},
                "api": {"port": port, "auth_strategy": "keystone"},
                "manager": {"poll_interval": 1},
                "keystone_authtoken": {
                    "www_authenticate_uri": keystone.auth_url,
                    # A revoked token is refused at once, not when its
                    # cached validation lapses.
                    "token_cache_time": -1,
                    **cloud.credentials(),
                },
            },
        )
        climate = helpers.ClimateProcess(
            "climate-all", config_file, workdir / "climate-all.log"
        )
        try:
            cloud.url = f"http://127.0.0.1:{port}"
            climate.wait_http(f"{cloud.url}/", timeout=60)
            yield cloud
        finally:
            climate.stop()
            print(f"\nclimate-all log:\n{climate.log()[-3000:]}")
    finally:
        keystone.stop()


def _post_lease(cloud, headers, name):
    return requests.post(
        f"{cloud.url}/v1/leases",
        json=helpers.lease_body(name, start=START, end=END),
        headers=headers,
        timeout=60,
    )


def _check_401(response):
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_name"] == "NotAuthenticated", body
    assert body["error_code"] == 401
    assert "Traceback" not in response.text
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_a_token_s_project_and_user_own_the_lease(cloud):
    response = _post_lease(cloud, cloud.headers("alice"), "alices")

    assert response.status_code == 201, response.text
    lease = response.json()["lease"]
    assert lease["project_id"] == cloud.projects["project-a"]
    assert lease["user_id"] == cloud.users["alice"]

    # Her project's reader sees it and cannot change it; the other
    # project does not see it at all.
    url = f"{cloud.url}/v1/leases/{lease['id']}"
    reader = cloud.headers("carol")
    assert requests.get(url, headers=reader, timeout=60).status_code == 200
    response = requests.put(
        url, json={"name": "x"}, headers=reader, timeout=60
    )
    assert response.status_code == 403, response.text
    assert response.json()["error_name"] == "PolicyNotAuthorized"
    other = cloud.headers("bob")
    assert requests.get(url, headers=other, timeout=60).status_code == 404
    listed = requests.get(f"{cloud.url}/v1/leases", headers=other, timeout=60)
    assert listed.json()["leases"] == []

    # Keystone's admin lists every project's leases on request.
    admin = cloud.headers("admin")
    listed = requests.get(
        f"{cloud.url}/v1/leases?all_projects=1", headers=admin, timeout=60
    )
    assert lease["id"] in [x["id"] for x in listed.json()["leases"]]


def test_identity_headers_a_client_sends_are_ignored(cloud):
    headers = dict(
        cloud.headers("bob"),
        **{"X-Project-Id": cloud.projects["project-a"], "X-Roles": "admin"},
    )

    response = _post_lease(cloud, headers, "bobs")

    assert response.status_code == 201, response.text
    assert (
        response.json()["lease"]["project_id"] == cloud.projects["project-b"]
    )
    response = requests.get(
        f"{cloud.url}/v1/os-hosts", headers=headers, timeout=60
    )
    assert response.status_code == 403, response.text


def test_hosts_are_for_keystone_s_admins(cloud):
    response = requests.post(
        f"{cloud.url}/v1/os-hosts",
        json={"name": "node-1"},
        headers=cloud.headers("admin"),
        timeout=60,
    )
    assert response.status_code == 201, response.text

    response = requests.get(
        f"{cloud.url}/v1/os-hosts", headers=cloud.headers("alice"), timeout=60
    )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("token", [None, "", "not-a-token", "gAAAAAB" * 30])
def test_missing_or_bad_tokens_are_401(cloud, token):
    headers = {} if token is None else {"X-Auth-Token": token}

    _check_401(_post_lease(cloud, headers, "nope"))
    _check_401(
        requests.get(f"{cloud.url}/v1/leases", headers=headers, timeout=60)
    )


def test_a_revoked_token_is_401(cloud):
    token = cloud.token("alice")
    headers = {"X-Auth-Token": token}
    url = f"{cloud.url}/v1/leases"
    assert requests.get(url, headers=headers, timeout=60).status_code == 200

    cloud.keystone.revoke(token)

    # At once: this climate-all does not cache validated tokens
    # ([keystone_authtoken] token_cache_time = -1).
    _check_401(requests.get(url, headers=headers, timeout=60))


def test_an_expired_token_is_401(cloud):
    token, body = cloud.keystone.token("alice", PASSWORD, "project-a")
    headers = {"X-Auth-Token": token}
    url = f"{cloud.url}/v1/leases"
    assert requests.get(url, headers=headers, timeout=60).status_code == 200

    expires = datetime.datetime.fromisoformat(
        body["expires_at"].replace("Z", "+00:00")
    )
    wait = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    time.sleep(max(wait, 0) + 1)

    _check_401(requests.get(url, headers=headers, timeout=60))


def test_the_versions_need_no_token(cloud):
    response = requests.get(f"{cloud.url}/", timeout=60)

    assert response.status_code == 300


def test_service_credentials_get_a_real_token(cloud, config):
    # The password plugin's options, registered as keystoneauth1 would.
    config.register_opts(
        ks_loading.get_auth_plugin_conf_options("password"),
        group="service_credentials",
    )
    config.config(group="service_credentials", **cloud.credentials())
    service_auth.reset()
    try:
        session = service_auth.get_session()

        assert session.get_token()
        assert session.get_project_id() == cloud.projects["service"]
        assert session.get_user_id() == cloud.users["climate"]
        assert service_auth.get_session() is session
    finally:
        service_auth.reset()
