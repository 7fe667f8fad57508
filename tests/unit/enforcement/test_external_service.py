"""The external_service filter against a real HTTP usage service on
loopback: what it is sent, how its answers are obeyed, and what happens
when it cannot answer."""

import datetime

import pytest

from tests import helpers
from tests.unit.api.asserts import check_error

ALICE = {"X-Project-Id": "project-a", "X-User-Id": "alice"}
START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


@pytest.fixture(autouse=True)
def enabled(config, usage_service):
    config.config(
        enabled_filters=["external_service"],
        external_service_url=usage_service.url,
        external_service_timeout=2,
        group="enforcement",
    )


def _create(api, name="lease", **fields):
    fields.setdefault("start", START)
    fields.setdefault("end", END)
    return api.post(
        "/v1/leases", json=helpers.lease_body(name, **fields), headers=ALICE
    )


def _names(api):
    return [
        x["name"] for x in api.get("/v1/leases", headers=ALICE).json["leases"]
    ]


def test_check_create_is_sent_the_context_and_the_lease(api, usage_service):
    response = _create(api, "allowed")

    assert response.status_code == 201, response.json
    (call,) = usage_service.calls
    assert call["path"] == "/usage/check-create"
    body = call["body"]
    assert body["context"]["project_id"] == "project-a"
    assert body["context"]["user_id"] == "alice"
    assert "auth_token" not in body["context"]
    lease = body["lease"]
    assert lease["name"] == "allowed"
    assert lease["project_id"] == "project-a"
    # The API's wire format.
    assert lease["start_date"] == "2030-12-26T12:00:00.000000"
    assert lease["end_date"] == "2030-12-27T12:00:00.000000"
    assert lease["id"] == response.json["lease"]["id"]
    assert {e["event_type"] for e in lease["events"]} == {
        "start_lease",
        "before_end_lease",
        "end_lease",
    }


def test_a_403_refuses_with_the_service_s_message(api, usage_service):
    usage_service.answers["check-create"] = (
        403,
        {"message": "Project project-a has used its 100 hours this month"},
    )

    response = _create(api, "refused")

    check_error(
        response,
        403,
        "ExternalServiceDenied",
        "Project project-a has used its 100 hours this month",
    )
    assert _names(api) == []


def test_a_403_without_a_message_still_refuses(api, usage_service):
    usage_service.answers["check-create"] = (403, ["not", "an object"])

    check_error(
        _create(api),
        403,
        "ExternalServiceDenied",
        "The usage service refused this lease",
    )


def test_check_update_sees_before_and_after_and_may_refuse(api, usage_service):
    lease = _create(api, "mine").json["lease"]
    usage_service.answers["check-update"] = (
        403,
        {"message": "No extensions this week"},
    )
    url = f"/v1/leases/{lease['id']}"

    response = api.put(url, json={"prolong_for": "1d"}, headers=ALICE)

    check_error(response, 403, "ExternalServiceDenied", "No extensions")
    call = usage_service.calls[-1]
    assert call["endpoint"] == "check-update"
    assert call["body"]["current_lease"]["end_date"].startswith("2030-12-27")
    assert call["body"]["lease"]["end_date"].startswith("2030-12-28")
    after = api.get(url, headers=ALICE).json["lease"]
    assert after["end_date"] == lease["end_date"]
    assert after["status"] == "PENDING"

    usage_service.answers["check-update"] = (204, None)
    response = api.put(url, json={"prolong_for": "1d"}, headers=ALICE)
    assert response.status_code == 200, response.json


def test_on_end_is_called_when_a_lease_ends_and_when_one_is_deleted(
    api, config, usage_service
):
    config.config(min_lease_duration=0, group="manager")
    end = helpers.utcnow() + datetime.timedelta(seconds=1)
    short = _create(api, "short", start="now", end=end.isoformat())
    assert short.status_code == 201, short.json

    def ended():
        return [c for c in usage_service.calls if c["endpoint"] == "on-end"]

    (call,) = helpers.wait_for(ended, 10, message="on-end")
    assert call["body"]["lease"]["id"] == short.json["lease"]["id"]
    assert call["body"]["lease"]["status"] == "TERMINATED"
    assert call["body"]["context"]["project_id"] == "project-a"

    later = _create(api, "later").json["lease"]
    response = api.delete(f"/v1/leases/{later['id']}", headers=ALICE)
    assert response.status_code == 204
    assert ended()[-1]["body"]["lease"]["id"] == later["id"]


def test_an_unreachable_service_refuses_by_default(api, config):
    config.config(
        external_service_url=f"http://127.0.0.1:{helpers.free_port()}/x",
        group="enforcement",
    )

    response = _create(api)

    message = check_error(
        response,
        503,
        "ExternalServiceUnavailable",
        "usage enforcement service could not check this request",
    )
    assert "127.0.0.1" not in message  # the operator's business
    assert _names(api) == []


@pytest.mark.parametrize(
    "answer", [(500, {"message": "oops"}), (404, None), (302, None)]
)
def test_an_unexpected_answer_refuses(api, usage_service, answer):
    usage_service.answers["check-create"] = answer

    check_error(_create(api), 503, "ExternalServiceUnavailable")
    assert _names(api) == []


def test_a_slow_service_refuses_after_the_timeout(api, config, usage_service):
    config.config(external_service_timeout=0.3, group="enforcement")
    usage_service.answers["check-create"] = 2.0

    check_error(_create(api), 503, "ExternalServiceUnavailable")
    assert _names(api) == []


def test_failing_open_lets_leases_through(api, config):
    config.config(
        external_service_url=f"http://127.0.0.1:{helpers.free_port()}/x",
        external_service_fail_closed=False,
        group="enforcement",
    )

    assert _create(api).status_code == 201


def test_the_configured_token_is_sent(api, config, usage_service):
    config.config(external_service_token="s3cret", group="enforcement")

    _create(api)

    assert usage_service.calls[0]["token"] == "s3cret"


def test_a_best_effort_lease_is_judged_when_queued(api, usage_service):
    usage_service.answers["check-create"] = (
        403,
        {"message": "Project project-a may not queue work this week"},
    )
    body = {
        "name": "batch",
        "kind": "best_effort",
        "duration": "2h",
        # No host exists: were it queued, it would wait.
        "reservations": [
            {"resource_type": "physical:host", "min": 1, "max": 1}
        ],
    }
    response = api.post("/v1/leases", json=body, headers=ALICE)
    check_error(
        response,
        403,
        "ExternalServiceDenied",
        "Project project-a may not queue work this week",
    )
    assert _names(api) == []
    del usage_service.answers["check-create"]
    response = api.post("/v1/leases", json=body, headers=ALICE)
    assert response.status_code == 201, response.json
    call = usage_service.calls[-1]
    assert call["path"] == "/usage/check-create"
    assert call["body"]["lease"]["status"] == "QUEUED"
    assert call["body"]["lease"]["duration"] == "2h"
