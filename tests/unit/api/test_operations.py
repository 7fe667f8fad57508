"""``GET /healthcheck`` and ``GET /metrics``: what operators scrape."""

import datetime
import uuid

import pytest
from keystonemiddleware import auth_token  # noqa: F401  (its options)
from keystonemiddleware import fixture as ksm_fixture
from prometheus_client import parser

from climate.api import app
from climate.db import api as db_api
from tests import helpers
from tests.unit.api.asserts import check_error


def _samples(response):
    """``{(name, frozenset(labels)): value}`` of a /metrics answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    samples = {}
    for family in parser.text_string_to_metric_families(
        response.get_data(as_text=True)
    ):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            samples[key] = sample.value
    return samples


def _value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def keystone(manager, config):
    """The API behind keystonemiddleware; ``tokens.add(project, roles)``."""
    fixture = ksm_fixture.AuthTokenFixture()
    fixture.setUp()
    config.config(auth_strategy="keystone", group="api")
    config.config(
        www_authenticate_uri="https://keystone.example.org",
        delay_auth_decision=False,
        group="keystone_authtoken",
    )

    def token(roles):
        token_id = uuid.uuid4().hex
        fixture.add_token_data(
            token_id=token_id,
            project_id="p1",
            user_id="u1",
            role_list=roles,
        )
        return {"X-Auth-Token": token_id}

    yield token
    fixture.cleanUp()


def test_healthcheck_answers_without_a_token(keystone):
    client = app.create_app().test_client()

    health = client.get("/healthcheck")
    assert health.status_code == 200
    assert health.get_data(as_text=True) == "database OK"
    assert client.head("/healthcheck").status_code == 204
    # The rest of the API still needs one.
    check_error(client.get("/v1/leases"), 401, "NotAuthenticated")


def test_healthcheck_is_503_when_the_database_does_not_answer(
    config, tmp_path
):
    config.config(
        connection=f"sqlite:///{tmp_path}/missing/dir/climate.sqlite",
        group="database",
    )
    client = app.create_app().test_client()

    health = client.get("/healthcheck")
    assert health.status_code == 503
    assert health.get_data(as_text=True) == "database unavailable"
    metrics = _samples(client.get("/metrics"))
    assert _value(metrics, "climate_database_up") == 0


def test_metrics_are_open_by_default(keystone):
    client = app.create_app().test_client()
    assert client.get("/metrics").status_code == 200


def test_metrics_can_be_for_admins_only(keystone, config):
    config.config(metrics_access="policy", group="api")
    client = app.create_app().test_client()

    check_error(client.get("/metrics"), 401, "NotAuthenticated")
    check_error(
        client.get("/metrics", headers=keystone(["member", "reader"])),
        403,
        "PolicyNotAuthorized",
    )
    admin = client.get("/metrics", headers=keystone(["admin"]))
    assert admin.status_code == 200


def test_metrics_can_be_off(database, config):
    config.config(metrics_access="off", group="api")
    client = app.create_app().test_client()
    check_error(client.get("/metrics"), 404, "NotFound")


def test_requests_are_counted_by_route_not_by_url(api):
    for _ in range(2):
        api.get(f"/v1/leases/{uuid.uuid4()}")
    created = api.post("/v1/leases", json=helpers.lease_body("counted"))
    assert created.status_code == 201
    api.get("/no/such/thing")

    metrics = _samples(api.get("/metrics"))

    def count(method, route, status):
        return _value(
            metrics,
            "climate_api_requests_total",
            method=method,
            route=route,
            status=status,
        )

    assert count("GET", "/v1/leases/<lease_id>", "404") == 2
    assert count("POST", "/v1/leases", "201") == 1
    assert count("GET", "unmatched", "404") == 1
    latency = _value(
        metrics,
        "climate_api_request_duration_seconds_count",
        method="POST",
        route="/v1/leases",
        status="201",
    )
    assert latency == 1


def test_leases_events_and_lag_come_from_the_database(database):
    # No manager runs: the event due an hour ago waits.
    now = helpers.utcnow().replace(microsecond=0)
    hour = datetime.timedelta(hours=1)
    db_api.lease_create(
        {
            "id": str(uuid.uuid4()),
            "name": "late",
            "project_id": "p1",
            "user_id": "u1",
            "start_date": now - hour,
            "end_date": now + hour,
            "status": "PENDING",
        },
        events=[
            {
                "id": str(uuid.uuid4()),
                "event_type": "start_lease",
                "time": now - hour,
                "status": "UNDONE",
            },
            {
                "id": str(uuid.uuid4()),
                "event_type": "end_lease",
                "time": now + hour,
                "status": "UNDONE",
            },
        ],
    )
    client = app.create_app().test_client()

    metrics = _samples(client.get("/metrics"))

    assert _value(metrics, "climate_database_up") == 1
    assert _value(metrics, "climate_leases", status="PENDING") == 1
    assert _value(metrics, "climate_leases", status="ACTIVE") == 0
    undone = {"event_type": "start_lease", "status": "UNDONE"}
    assert _value(metrics, "climate_events", **undone) == 1
    lag = _value(metrics, "climate_event_lag_seconds")
    assert 3600 <= lag < 3660
