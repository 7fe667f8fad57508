"""``[api] auth_strategy = keystone``: keystonemiddleware's auth_token in
front of the API, its token validation replaced by its own test fixture
(tests/services/test_keystone.py uses a real Keystone)."""

import datetime
import uuid

import pytest
from keystonemiddleware import auth_token  # noqa: F401  (its options)
from keystonemiddleware import fixture as ksm_fixture

from climate.api import app
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"
KEYSTONE = "https://keystone.example.org/identity"


@pytest.fixture
def tokens():
    """Tokens keystonemiddleware will accept: ``tokens.add(...)``."""
    fixture = ksm_fixture.AuthTokenFixture()
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def keystone_api(manager, config, tokens):
    config.config(auth_strategy="keystone", group="api")
    config.config(
        www_authenticate_uri=KEYSTONE,
        delay_auth_decision=False,
        group="keystone_authtoken",
    )
    # The host routes too (their policy is checked before any RPC).
    config.config(
        plugins=["physical.host.plugin", "test.recorder.plugin"],
        group="manager",
    )
    return app.create_app().test_client()


def _token(tokens, project, user, roles, **kwargs):
    token = uuid.uuid4().hex
    tokens.add_token_data(
        token_id=token,
        project_id=project,
        user_id=user,
        role_list=roles,
        **kwargs,
    )
    return token


def _unauthorized(response):
    message = check_error(response, 401, "NotAuthenticated", "X-Auth-Token")
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{KEYSTONE}"'
    return message


def test_a_valid_token_s_project_and_user_own_the_lease(keystone_api, tokens):
    token = _token(tokens, "project-a", "alice", ["member", "reader"])

    response = keystone_api.post(
        "/v1/leases",
        json=helpers.lease_body("mine", start=START, end=END),
        # Identity headers a client sends are dropped by the middleware.
        headers={
            "X-Auth-Token": token,
            "X-Project-Id": "project-b",
            "X-Roles": "admin",
        },
    )

    assert response.status_code == 201, response.json
    lease = response.json["lease"]
    assert (lease["project_id"], lease["user_id"]) == ("project-a", "alice")
    listed = keystone_api.get("/v1/leases", headers={"X-Auth-Token": token})
    assert [x["id"] for x in listed.json["leases"]] == [lease["id"]]


def test_no_token_is_401(keystone_api):
    _unauthorized(keystone_api.get("/v1/leases"))
    _unauthorized(
        keystone_api.post(
            "/v1/leases",
            json=helpers.lease_body(start=START, end=END),
            headers={"X-Project-Id": "p", "X-Roles": "admin"},
        )
    )


def test_an_unknown_token_is_401(keystone_api, tokens):
    _token(tokens, "project-a", "alice", ["member"])

    _unauthorized(
        keystone_api.get("/v1/leases", headers={"X-Auth-Token": "forged"})
    )


def test_an_expired_token_is_401(keystone_api, tokens):
    expired = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        minutes=1
    )
    token = _token(tokens, "project-a", "alice", ["member"], expires=expired)

    _unauthorized(
        keystone_api.get("/v1/os-hosts", headers={"X-Auth-Token": token})
    )


def test_policy_uses_the_token_s_roles(keystone_api, tokens):
    reader = _token(tokens, "project-a", "carol", ["reader"])
    admin = _token(tokens, "ops", "root", ["admin", "member", "reader"])

    check_error(
        keystone_api.post(
            "/v1/leases",
            json=helpers.lease_body(start=START, end=END),
            headers={"X-Auth-Token": reader},
        ),
        403,
        "PolicyNotAuthorized",
        "climate:leases:post",
    )
    check_error(
        keystone_api.get("/v1/os-hosts", headers={"X-Auth-Token": reader}),
        403,
        "PolicyNotAuthorized",
    )
    response = keystone_api.get(
        "/v1/os-hosts", headers={"X-Auth-Token": admin}
    )
    assert response.status_code == 200, response.json


def test_the_versions_need_no_token(keystone_api):
    assert keystone_api.get("/").status_code == 300
    assert keystone_api.get("/v1").status_code == 200
    # Only reading them.
    _unauthorized(keystone_api.post("/", json={}))


def test_the_context_carries_no_user_token(keystone_api, tokens, manager):
    """The manager acts with its own credentials, never the user's."""
    seen = []
    original = manager.leases.create

    def spy(context, values):
        seen.append(context)
        return original(context, values)

    manager.leases.create = spy
    token = _token(tokens, "project-a", "alice", ["member"])

    response = keystone_api.post(
        "/v1/leases",
        json=helpers.lease_body(start=START, end=END),
        headers={"X-Auth-Token": token},
    )

    assert response.status_code == 201, response.json
    (context,) = seen
    assert context.auth_token is None
    assert context.to_dict()["auth_token"] is None
    assert (context.project_id, context.user_id) == ("project-a", "alice")
