"""Policy: every endpoint and method, for members, readers and admins of
two projects (the isolation matrix), and an operator's policy file.

Identities come from the noauth headers; with Keystone the same headers
come from the token (see test_keystone_auth.py).
"""

import pytest

from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


def _who(project, user, roles):
    return {"X-Project-Id": project, "X-User-Id": user, "X-Roles": roles}


ACTORS = {
    "a-member": _who("project-a", "alice", "member"),
    "a-reader": _who("project-a", "carol", "reader"),
    "b-member": _who("project-b", "bob", "member"),
    "b-reader": _who("project-b", "dave", "reader"),
    "admin": _who("ops", "root", "admin"),
}
ADMIN = ACTORS["admin"]


@pytest.fixture
def manager(database, config):
    """The in-process manager, hosts and the recorder plugin enabled."""
    config.config(
        plugins=["physical.host.plugin", "test.recorder.plugin"],
        group="manager",
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def world(api):
    """Makes project A's lease and a host afresh, as an admin would see
    them: ``world.lease()`` and ``world.host()`` return their ids."""

    class World:
        count = 0

        def lease(self):
            World.count += 1
            response = api.post(
                "/v1/leases",
                json=helpers.lease_body(
                    f"a-lease-{World.count}", start=START, end=END
                ),
                headers=ACTORS["a-member"],
            )
            assert response.status_code == 201, response.json
            return response.json["lease"]["id"]

        def host(self):
            World.count += 1
            response = api.post(
                "/v1/os-hosts",
                json={"name": f"node-{World.count}", "gpu": "a100"},
                headers=ADMIN,
            )
            assert response.status_code == 201, response.json
            return response.json["host"]["id"]

    return World()


def _expect(default, **by_actor):
    return {
        actor: by_actor.get(actor.replace("-", "_"), default)
        for actor in ACTORS
    }


# (name, method, path, body, expected status by actor, denied rule)
_LEASE_OWNER = {"a_member": 200, "a_reader": 200, "admin": 200}
_ADMIN_ONLY = {"admin": 200}
MATRIX = [
    ("list", "GET", "/v1/leases", None, _expect(200), None),
    (
        "list-all",
        "GET",
        "/v1/leases?all_projects=1",
        None,
        _expect(403, admin=200),
        "climate:leases:get:all_projects",
    ),
    (
        "create",
        "POST",
        "/v1/leases",
        lambda actor: helpers.lease_body(f"new-{actor}", start=START, end=END),
        _expect(403, a_member=201, b_member=201, admin=201),
        "climate:leases:post",
    ),
    (
        "show",
        "GET",
        "/v1/leases/{lease}",
        None,
        _expect(404, **_LEASE_OWNER),
        None,
    ),
    (
        "update",
        "PUT",
        "/v1/leases/{lease}",
        lambda actor: {"name": f"renamed-by-{actor}"},
        _expect(404, a_member=200, a_reader=403, admin=200),
        "climate:leases:put",
    ),
    (
        "delete",
        "DELETE",
        "/v1/leases/{lease}",
        None,
        _expect(404, a_member=204, a_reader=403, admin=204),
        "climate:leases:delete",
    ),
    (
        "hosts",
        "GET",
        "/v1/os-hosts",
        None,
        _expect(403, **_ADMIN_ONLY),
        "climate:oshosts:get",
    ),
    (
        "host-create",
        "POST",
        "/v1/os-hosts",
        lambda actor: {"name": f"by-{actor}"},
        _expect(403, admin=201),
        "climate:oshosts:post",
    ),
    (
        "host-show",
        "GET",
        "/v1/os-hosts/{host}",
        None,
        _expect(403, **_ADMIN_ONLY),
        "climate:oshosts:get",
    ),
    (
        "host-update",
        "PUT",
        "/v1/os-hosts/{host}",
        lambda actor: {"gpu": "h100"},
        _expect(403, **_ADMIN_ONLY),
        "climate:oshosts:put",
    ),
    (
        "host-delete",
        "DELETE",
        "/v1/os-hosts/{host}",
        None,
        _expect(403, admin=204),
        "climate:oshosts:delete",
    ),
    (
        "properties",
        "GET",
        "/v1/os-hosts/properties",
        None,
        # Everyone may read what to write queries on (private ones are
        # hidden from them: tests/unit/plugins/hosts/api).
        _expect(200),
        None,
    ),
    (
        "availability",
        "GET",
        "/v1/availability?resource_type=physical:host&count=1&duration=1h",
        None,
        _expect(200),
        None,
    ),
    (
        "extension",
        "GET",
        "/v1/leases/{lease}/extension",
        None,
        _expect(404, **_LEASE_OWNER),
        "climate:leases:extension",
    ),
    (
        "property-update",
        "PATCH",
        "/v1/os-hosts/properties/gpu",
        lambda actor: {"private": True},
        _expect(403, **_ADMIN_ONLY),
        "climate:oshosts:properties:patch",
    ),
    (
        "allocations",
        "GET",
        "/v1/os-hosts/allocations",
        None,
        _expect(403, **_ADMIN_ONLY),
        "climate:allocations:get",
    ),
    (
        "host-allocation",
        "GET",
        "/v1/os-hosts/{host}/allocation",
        None,
        _expect(403, **_ADMIN_ONLY),
        "climate:allocations:get",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected", "rule"),
    [pytest.param(*case[1:], id=case[0]) for case in MATRIX],
)
def test_isolation_matrix(api, world, method, path, body, expected, rule):
    for actor, headers in ACTORS.items():
        # Fresh targets for each actor: an allowed DELETE removes them.
        lease_id, host_id = world.lease(), world.host()
        url = path.format(lease=lease_id, host=host_id)
        response = api.open(
            url,
            method=method,
            json=body(actor) if body else None,
            headers=headers,
        )
        code = expected[actor]
        if code == 403:
            check_error(response, 403, "PolicyNotAuthorized", rule)
        elif code == 404:
            check_error(response, 404, "LeaseNotFound", lease_id)
        else:
            assert response.status_code == code, (
                actor,
                response.get_data(as_text=True),
            )
        if code in (403, 404) and "{lease}" in path:
            # Refused: the lease is as it was.
            lease = api.get(f"/v1/leases/{lease_id}", headers=ADMIN).json
            assert lease["lease"]["name"].startswith("a-lease-"), actor


def _names(api, headers, query=""):
    response = api.get(f"/v1/leases{query}", headers=headers)
    assert response.status_code == 200, response.json
    return sorted(lease["name"] for lease in response.json["leases"])


def test_each_project_lists_its_own_leases(api, world):
    world.lease()
    api.post(
        "/v1/leases",
        json=helpers.lease_body("b-lease", start=START, end=END),
        headers=ACTORS["b-member"],
    )

    assert _names(api, ACTORS["a-member"]) == ["a-lease-1"]
    assert _names(api, ACTORS["a-reader"]) == ["a-lease-1"]
    assert _names(api, ACTORS["b-reader"]) == ["b-lease"]
    assert _names(api, ADMIN) == []
    assert _names(api, ADMIN, "?all_projects=1") == ["a-lease-1", "b-lease"]


def test_the_owner_of_a_lease_is_the_caller(api):
    response = api.post(
        "/v1/leases",
        # A body naming another project is refused, not obeyed.
        json=dict(
            helpers.lease_body("x", start=START, end=END),
            project_id="project-b",
        ),
        headers=ACTORS["a-member"],
    )
    check_error(response, 400, "MalformedRequestBody", "project_id")

    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("x", start=START, end=END),
        headers=ACTORS["a-member"],
    )
    assert response.json["lease"]["project_id"] == "project-a"
    assert response.json["lease"]["user_id"] == "alice"


def test_roles_imply_as_keystone_s_do(api, world):
    lease_id = world.lease()
    # member implies reader; admin implies member.
    for roles in ("member", "admin"):
        response = api.get(
            f"/v1/leases/{lease_id}",
            headers=_who("project-a", "x", roles),
        )
        assert response.status_code == 200, roles
    # A role that merely looks like one is nothing.
    response = api.get(
        "/v1/leases", headers=_who("project-a", "x", "Reader-ish")
    )
    check_error(response, 403, "PolicyNotAuthorized", "climate:leases:get")


def test_a_system_scoped_caller_is_refused(api):
    headers = dict(ADMIN, **{"OpenStack-System-Scope": "all"})

    response = api.get("/v1/os-hosts", headers=headers)

    check_error(response, 403, "PolicyNotAuthorized", "climate:oshosts:get")


def test_the_versions_need_no_role(api):
    assert api.get("/", headers=_who("p", "u", "")).status_code == 300


def test_an_operator_policy_file_overrides_the_defaults(
    api, config, tmp_path, world
):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        '"climate:leases:post": "role:admin"\n'
        '"climate:oshosts:get": "role:reader"\n'
    )
    config.config(policy_file=str(policy_file), group="oslo_policy")
    # The app of the api fixture was built before: build a new one.
    from climate.api import app

    client = app.create_app().test_client()
    world.host()

    response = client.post(
        "/v1/leases",
        json=helpers.lease_body("x", start=START, end=END),
        headers=ACTORS["a-member"],
    )
    check_error(response, 403, "PolicyNotAuthorized", "climate:leases:post")
    response = client.get("/v1/os-hosts", headers=ACTORS["b-reader"])
    assert response.status_code == 200, response.json
    assert [h["hypervisor_hostname"] for h in response.json["hosts"]] == [
        "node-1"
    ]
    # Rules the file leaves out keep their defaults.
    check_error(
        client.post(
            "/v1/os-hosts", json={"name": "n"}, headers=ACTORS["b-reader"]
        ),
        403,
        "PolicyNotAuthorized",
        "climate:oshosts:post",
    )


@pytest.mark.parametrize(
    "put_rule,expect_put,expect_delete",
    [
        # Reaching other projects' leases is not acting on them.
        ("rule:project_member_or_admin", 403, 403),
        ("rule:project_member_or_admin or role:auditor", 200, 204),
    ],
)
def test_one_rule_decides_whose_leases_a_caller_reaches(
    database, config, tmp_path, put_rule, expect_put, expect_delete
):
    """The API and the manager read the same rule: a non-admin granted
    ``climate:leases:get:all_projects`` reaches another project's lease
    for every action, and each action's own rule decides."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        '"climate:leases:get:all_projects": "role:auditor"\n'
        '"climate:leases:get": "rule:project_reader_or_admin or '
        'role:auditor"\n'
        f'"climate:leases:put": "{put_rule}"\n'
        f'"climate:leases:delete": "{put_rule}"\n'
    )
    from climate import policy
    from climate.api import app

    policy.get_enforcer()  # registers the [oslo_policy] options
    config.config(policy_file=str(policy_file), group="oslo_policy")
    config.config(plugins=["test.recorder.plugin"], group="manager")

    manager = service.ManagerService()
    manager.start()
    try:
        client = app.create_app().test_client()
        created = client.post(
            "/v1/leases",
            json=helpers.lease_body("theirs", start=START, end=END),
            headers=ACTORS["a-member"],
        )
        lease_id = created.json["lease"]["id"]
        auditor = _who("project-b", "eve", "member,auditor")

        assert (
            client.get(f"/v1/leases/{lease_id}", headers=auditor).status_code
            == 200
        )
        listed = client.get("/v1/leases?all_projects=1", headers=auditor)
        assert [x["id"] for x in listed.json["leases"]] == [lease_id]
        put = client.put(
            f"/v1/leases/{lease_id}", json={"name": "seen"}, headers=auditor
        )
        assert put.status_code == expect_put, put.json
        deleted = client.delete(f"/v1/leases/{lease_id}", headers=auditor)
        assert deleted.status_code == expect_delete, deleted.json
        # A member of B without the role still does not see A's lease.
        check_error(
            client.get(f"/v1/leases/{lease_id}", headers=ACTORS["b-member"]),
            404,
            "LeaseNotFound",
            lease_id,
        )
    finally:
        manager.stop()
