"""The Idempotency-Key header on the physical:host plugin's creates
(``POST /v1/os-hosts``, ``/v1/images``, ``/v1/blocks``): a retried create
gets the first answer, never a second host, image or block; deletes are
idempotent by nature.  Real API application, in-process manager, migrated
SQLite database."""

import pytest

from climate import context
from climate.common import idempotency
from climate.db import api as db_api
from climate.plugins.hosts import provisioning_rpcapi, rpcapi
from climate.plugins.hosts.db import api as host_db
from tests.unit.api.asserts import check_error

ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops"}
KEY = "0d6e2b1c-create-1"


def _keyed(key=KEY):
    return {**ADMIN, "Idempotency-Key": key}


@pytest.fixture
def manager(database, config):
    from climate.manager import service

    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _host(name="lab-0", index=0):
    return {"name": name, "address": f"10.0.0.{index}"}


def _image(name="centos"):
    return {
        "image": {
            "name": name,
            "reference": f"http://images.example/{name}.qcow2",
            "default_load_time": 900,
        }
    }


def _block(project="class-101"):
    return {
        "block": {
            "image": "centos",
            "machine_count": 2,
            "project": project,
            "slots": [
                {
                    "start_date": "2030-12-26 12:00",
                    "end_date": "2030-12-26 14:00",
                },
                {
                    "start_date": "2030-12-27 12:00",
                    "end_date": "2030-12-27 14:00",
                },
            ],
        }
    }


@pytest.fixture
def hosts(api):
    for index in range(3):
        response = api.post(
            "/v1/os-hosts", json=_host(f"lab-{index}", index), headers=ADMIN
        )
        assert response.status_code == 201, response.json


@pytest.fixture
def image(api):
    response = api.post("/v1/images", json=_image(), headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json["image"]


def _ops_context(key, method, path, body):
    """The context the API would put on a keyed request of project ops."""
    return context.RequestContext(
        user_id="admin-user",
        project_id="ops",
        roles=["admin"],
        is_admin=True,
        overwrite=False,
        idempotency_key=key,
        idempotency_fingerprint=idempotency.fingerprint(method, path, body),
    )


# Hosts ----------------------------------------------------------------------


def test_a_retried_host_create_returns_the_first_host(api):
    first = api.post("/v1/os-hosts", json=_host(), headers=_keyed())
    again = api.post("/v1/os-hosts", json=_host(), headers=_keyed())

    assert first.status_code == again.status_code == 201, again.json
    assert again.json == first.json
    assert [str(h["id"]) for h in host_db.host_list()] == [
        first.json["host"]["id"]
    ]
    # Without the key the same request is a second create, refused.
    unkeyed = api.post("/v1/os-hosts", json=_host(), headers=ADMIN)
    assert unkeyed.status_code == 409, unkeyed.json


def test_the_manager_replays_a_host_create_the_api_did_not_check(api):
    # A retry that reached the manager (redelivered, or racing the first
    # attempt past the API's look-up) gets the first host too.
    first = api.post("/v1/os-hosts", json=_host(), headers=_keyed()).json
    ctxt = _ops_context(KEY, "POST", "/v1/os-hosts", _host())

    again = rpcapi.HostAPI().create_host(ctxt, _host())

    assert str(again["id"]) == first["host"]["id"]
    assert len(host_db.host_list()) == 1


def test_a_host_key_sent_again_with_another_body_is_refused(api):
    assert (
        api.post("/v1/os-hosts", json=_host(), headers=_keyed()).status_code
        == 201
    )

    response = api.post(
        "/v1/os-hosts", json=_host("lab-1", 1), headers=_keyed()
    )

    check_error(
        response, 422, "IdempotencyKeyReused", KEY, "create_host", "new key"
    )
    assert len(host_db.host_list()) == 1


def test_a_refused_host_create_leaves_its_key_free(api):
    refused = api.post(
        "/v1/os-hosts", json={"address": "10.0.0.9"}, headers=_keyed()
    )
    assert refused.status_code == 400, refused.json
    # The claim was rolled back with the write: the key is not taken.
    assert db_api.idempotency_key_get("ops", KEY, idempotency._now()) is None
    assert (
        api.post("/v1/os-hosts", json=_host(), headers=_keyed()).status_code
        == 201
    )


# Images ---------------------------------------------------------------------


def test_a_retried_image_create_returns_the_first_image(api):
    first = api.post("/v1/images", json=_image(), headers=_keyed())
    again = api.post("/v1/images", json=_image(), headers=_keyed())

    assert first.status_code == again.status_code == 201, again.json
    assert again.json == first.json
    assert [i["id"] for i in host_db.image_list()] == [
        first.json["image"]["id"]
    ]


def test_an_image_create_refused_in_the_database_leaves_its_key_free(
    api, image
):
    # The name is taken: the manager's insert fails, and the claim of the
    # key, in the same transaction, goes with it.
    taken = api.post("/v1/images", json=_image(), headers=_keyed())
    assert taken.status_code == 409, taken.json
    assert api.delete("/v1/images/centos", headers=ADMIN).status_code == 204

    retried = api.post("/v1/images", json=_image(), headers=_keyed())

    assert retried.status_code == 201, retried.json
    assert retried.json["image"]["id"] != image["id"]


def test_an_image_key_sent_again_with_another_body_is_refused(api):
    api.post("/v1/images", json=_image(), headers=_keyed())

    response = api.post("/v1/images", json=_image("debian"), headers=_keyed())

    check_error(response, 422, "IdempotencyKeyReused", KEY, "create_image")
    assert [i["name"] for i in host_db.image_list()] == ["centos"]


# Blocks ---------------------------------------------------------------------


def _block_leases():
    return [
        lease
        for lease in db_api.lease_list(project_id="class-101")
        if lease["name"].startswith("block-")
    ]


def test_a_retried_block_create_returns_the_first_block(api, hosts, image):
    first = api.post("/v1/blocks", json=_block(), headers=_keyed())
    again = api.post("/v1/blocks", json=_block(), headers=_keyed())

    assert first.status_code == again.status_code == 201, again.json
    assert again.json == first.json
    assert [b["id"] for b in host_db.block_list()] == [
        first.json["block"]["id"]
    ]
    # One lease per slot, made once.
    slots = first.json["block"]["slots"]
    assert sorted(lease["id"] for lease in _block_leases()) == sorted(
        s["lease_id"] for s in slots
    )
    assert len(slots) == 2


def test_the_manager_replays_a_block_create_the_api_did_not_check(
    api, hosts, image
):
    first = api.post("/v1/blocks", json=_block(), headers=_keyed()).json
    ctxt = _ops_context(KEY, "POST", "/v1/blocks", _block())

    again = provisioning_rpcapi.ProvisioningAPI().create_block(
        ctxt, _block()["block"]
    )

    # The manager answers with the block as it is now, its slots filled.
    assert again["id"] == first["block"]["id"]
    assert [s["lease_id"] for s in again["slots"]] == [
        s["lease_id"] for s in first["block"]["slots"]
    ]
    assert len(host_db.block_list()) == 1
    assert len(_block_leases()) == 2


def test_a_block_key_sent_again_with_another_body_is_refused(
    api, hosts, image
):
    api.post("/v1/blocks", json=_block(), headers=_keyed())

    response = api.post(
        "/v1/blocks", json=_block("class-102"), headers=_keyed()
    )

    check_error(response, 422, "IdempotencyKeyReused", KEY, "create_block")
    assert len(host_db.block_list()) == 1


def test_a_refused_block_create_leaves_its_key_free(api, hosts, image):
    body = _block()
    body["block"]["machine_count"] = 99
    refused = api.post("/v1/blocks", json=body, headers=_keyed())
    assert refused.status_code == 400, refused.json

    assert (
        api.post("/v1/blocks", json=_block(), headers=_keyed()).status_code
        == 201
    )
    assert len(host_db.block_list()) == 1


# Deletes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/os-hosts/{host}", "/v1/images/{image}", "/v1/blocks/{block}"],
)
def test_a_retried_delete_is_answered_404_and_changes_nothing_more(
    api, hosts, image, path
):
    # Deletes carry no key: deleting twice is deleting once, and the
    # second answer, 404, is what climateclient takes for "done".
    block = api.post("/v1/blocks", json=_block(), headers=ADMIN).json
    spare = api.post(
        "/v1/os-hosts", json=_host("spare", 9), headers=ADMIN
    ).json["host"]
    url = path.format(
        host=spare["id"], image=image["id"], block=block["block"]["id"]
    )
    if "images" in url:
        # An image a block names cannot go; this one is named by none.
        other = api.post("/v1/images", json=_image("debian"), headers=ADMIN)
        url = f"/v1/images/{other.json['image']['id']}"
    counts = (
        len(host_db.host_list()),
        len(host_db.image_list()),
        len(host_db.block_list()),
    )

    first = api.delete(url, headers=_keyed())
    again = api.delete(url, headers=_keyed())

    assert first.status_code == 204, first.get_data(as_text=True)
    assert again.status_code == 404, again.get_data(as_text=True)
    after = (
        len(host_db.host_list()),
        len(host_db.image_list()),
        len(host_db.block_list()),
    )
    assert sum(counts) - sum(after) == 1
