"""Bad input on every database: integers beyond a column's range, NUL
characters, and the first hosts registered at once.  What SQLite lets
through, PostgreSQL or MariaDB may refuse with an error; every answer here
must be a 4xx that says what is wrong (or a success), never a 500."""

import concurrent.futures

import pytest

from climate.manager import service
from tests import helpers

pytestmark = pytest.mark.services

ADMIN = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}
BIG = 2**31  # one past the largest 32-bit integer
HUGE = "99999999999999999999999"


@pytest.fixture
def client(service_db, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    config.config(max_pool_size=12, group="database")
    manager = service.ManagerService()
    manager.start()
    from climate.api import app

    yield app.create_app().test_client()
    manager.stop()


def _lease(count_min, count_max):
    return helpers.lease_body(
        "big",
        start=helpers.future(days=1),
        end=helpers.future(days=2),
        reservations=[
            {
                "resource_type": "physical:host",
                "min": count_min,
                "max": count_max,
            }
        ],
    )


@pytest.mark.parametrize(
    "count_min,count_max", [(1, BIG), (BIG, BIG), (1, HUGE), ("1", str(BIG))]
)
def test_counts_beyond_the_column_are_a_400(client, count_min, count_max):
    response = client.post("/v1/leases", json=_lease(count_min, count_max))
    assert response.status_code == 400, response.json
    assert "from 1 to 2147483647" in response.json["error_message"]


@pytest.mark.parametrize("host_id", [str(BIG), HUGE, "0", "-1"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_host_ids_beyond_the_column_are_not_found(client, host_id, method):
    kwargs = {"json": {"gpu": "x"}} if method == "put" else {}
    response = getattr(client, method)(
        f"/v1/os-hosts/{host_id}", headers=ADMIN, **kwargs
    )
    assert response.status_code == 404, response.json
    assert response.json["error_name"] == "HostNotFound"
    response = client.get(f"/v1/os-hosts/{host_id}/allocation", headers=ADMIN)
    assert response.status_code == 404, response.json


def test_sizes_beyond_the_column_are_a_400(client):
    response = client.post(
        "/v1/os-hosts", json={"name": "big", "vcpus": BIG}, headers=ADMIN
    )
    assert response.status_code == 400, response.json
    assert "vcpus" in response.json["error_message"]


def test_nul_characters_are_a_400(client):
    response = client.post(
        "/v1/leases", json=helpers.lease_body("nul\x00name")
    )
    assert response.status_code == 400, response.json
    response = client.post(
        "/v1/os-hosts", json={"name": "h", "rack": "1\x00"}, headers=ADMIN
    )
    assert response.status_code == 400, response.json


def test_the_first_hosts_registered_at_once_all_succeed(client):
    from climate.api import app

    # A client of its own per thread (Flask's test client is not shared
    # between threads), each made here: werkzeug compiles an app's routes
    # with ``ast``, which CPython 3.11 cannot do in two threads at once
    # ("AST constructor recursion depth mismatch").
    clients = [app.create_app().test_client() for _ in range(8)]

    def register(index):
        return clients[index].post(
            "/v1/os-hosts", json={"name": f"first-{index}"}, headers=ADMIN
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(register, range(8)))
    assert [a.status_code for a in answers] == [201] * 8, [
        a.json for a in answers
    ]
    hosts = client.get("/v1/os-hosts", headers=ADMIN).json["hosts"]
    assert len(hosts) == 8
