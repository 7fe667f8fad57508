"""Who is calling (noauth): identity headers, project isolation, admins."""

from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"
ALICE = {"X-Project-Id": "project-a", "X-User-Id": "alice"}
BOB = {"X-Project-Id": "project-b", "X-User-Id": "bob"}
ADMIN = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}


def _names(response):
    assert response.status_code == 200, response.json
    return sorted(lease["name"] for lease in response.json["leases"])


def test_noauth_fills_in_the_configured_identity(create):
    lease = create("anonymous", start=START, end=END)

    assert lease["project_id"] == "climate-project"
    assert lease["user_id"] == "climate-user"


def test_identity_headers_name_the_owner(create):
    lease = create("mine", headers=ALICE, start=START, end=END)

    assert lease["project_id"] == "project-a"
    assert lease["user_id"] == "alice"


def test_another_projects_lease_is_not_found(api, create, get_lease):
    lease = create("private", headers=ALICE, start=START, end=END)
    url = f"/v1/leases/{lease['id']}"

    check_error(api.get(url, headers=BOB), 404, "LeaseNotFound", lease["id"])
    check_error(
        api.put(url, json={"name": "stolen"}, headers=BOB),
        404,
        "LeaseNotFound",
    )
    check_error(api.delete(url, headers=BOB), 404, "LeaseNotFound")
    assert _names(api.get("/v1/leases", headers=BOB)) == []
    check_error(
        api.get(f"/v1/leases?marker={lease['id']}", headers=BOB),
        400,
        "InvalidMarker",
    )
    # Untouched for its owner.
    assert get_lease(lease["id"], headers=ALICE)["name"] == "private"
    assert _names(api.get("/v1/leases", headers=ALICE)) == ["private"]


def test_two_projects_may_use_the_same_name(create):
    first = create("shared-name", headers=ALICE, start=START, end=END)
    second = create("shared-name", headers=BOB, start=START, end=END)

    assert first["id"] != second["id"]


def test_admin_sees_and_manages_every_project(api, create):
    a = create("a-lease", headers=ALICE, start=START, end=END)
    create("b-lease", headers=BOB, start=START, end=END)
    create("ops-lease", headers=ADMIN, start=START, end=END)

    # Without ?all_projects=1 an admin's list is its own project's.
    assert _names(api.get("/v1/leases", headers=ADMIN)) == ["ops-lease"]
    assert _names(api.get("/v1/leases?all_projects=1", headers=ADMIN)) == [
        "a-lease",
        "b-lease",
        "ops-lease",
    ]
    response = api.get(f"/v1/leases/{a['id']}", headers=ADMIN)
    assert response.status_code == 200
    assert response.json["lease"]["project_id"] == "project-a"
    response = api.put(
        f"/v1/leases/{a['id']}", json={"name": "renamed"}, headers=ADMIN
    )
    assert response.status_code == 200, response.json
    assert response.json["lease"]["project_id"] == "project-a"
    assert api.delete(f"/v1/leases/{a['id']}", headers=ADMIN).status_code == (
        204
    )
    assert _names(api.get("/v1/leases?all_projects=1", headers=ADMIN)) == [
        "b-lease",
        "ops-lease",
    ]


def test_all_projects_is_for_admins_only(api, create):
    create("a-lease", headers=ALICE, start=START, end=END)

    check_error(
        api.get("/v1/leases?all_projects=1", headers=BOB),
        403,
        "PolicyNotAuthorized",
        "climate:leases:get:all_projects",
    )
    # all_projects=0 is the plain list.
    assert _names(api.get("/v1/leases?all_projects=0", headers=BOB)) == []


def test_a_role_named_like_admin_is_not_admin(api, create):
    create("a-lease", headers=ALICE, start=START, end=END)
    headers = dict(BOB, **{"X-Roles": "member, administrator"})

    assert _names(api.get("/v1/leases", headers=headers)) == []


def test_name_filter_stays_within_the_project(api, create):
    create("same", headers=ALICE, start=START, end=END)
    create("same", headers=BOB, start=START, end=END)

    response = api.get("/v1/leases?name=same", headers=BOB)

    assert [lease["project_id"] for lease in response.json["leases"]] == [
        "project-b"
    ]
