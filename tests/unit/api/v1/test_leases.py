"""/v1/leases: create, read and delete through the real app, manager and
SQLite; the wire format, input validation and atomic creates."""

import datetime
import re

import pytest
import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import models
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"
RECORDER = {"resource_type": "test:recorder"}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-")
MISSING = object()
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _row_counts():
    """How many leases, reservations and events the database holds."""
    with db_api.reader() as session:
        return {
            model.__tablename__: session.scalar(
                sa.select(sa.func.count()).select_from(model)
            )
            for model in (models.Lease, models.Reservation, models.Event)
        }


def _post(api, **fields):
    return api.post("/v1/leases", json=helpers.lease_body(**fields))


# The wire format ------------------------------------------------------------


def test_create_answers_201_with_the_lease_in_the_wire_format(api):
    response = _post(
        api,
        name="lease_foo",
        start=START,
        end=END,
        reservations=[dict(RECORDER, note="gpu box")],
        events=[],
    )

    assert response.status_code == 201, response.json
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
    assert list(response.json) == ["lease"]
    lease = response.json["lease"]
    assert UUID_RE.match(lease["id"])
    assert lease["name"] == "lease_foo"
    assert lease["status"] == "PENDING"
    assert lease["degraded"] is False
    assert lease["project_id"] == "climate-project"
    assert lease["user_id"] == "climate-user"
    assert lease["start_date"] == "2030-12-26T12:00:00.000000"
    assert lease["end_date"] == "2030-12-27T12:00:00.000000"
    assert lease["before_end_date"] == "2030-12-27T11:00:00.000000"
    assert TIMESTAMP_RE.match(lease["created_at"]), lease["created_at"]
    created = datetime.datetime.strptime(
        lease["created_at"], "%Y-%m-%d %H:%M:%S"
    )
    assert abs(created - helpers.utcnow()) < datetime.timedelta(minutes=1)

    [reservation] = lease["reservations"]
    assert UUID_RE.match(reservation["id"])
    assert reservation["lease_id"] == lease["id"]
    assert reservation["status"] == "pending"
    assert reservation["resource_type"] == "test:recorder"
    # The recorder plugin names its reservation as the resource.
    assert reservation["resource_id"] == reservation["id"]
    assert reservation["missing_resources"] is False
    assert reservation["resources_changed"] is False

    events = {e["event_type"]: e for e in lease["events"]}
    assert set(events) == {"start_lease", "before_end_lease", "end_lease"}
    for event in lease["events"]:
        assert UUID_RE.match(event["id"])
        assert event["lease_id"] == lease["id"]
        assert event["status"] == "UNDONE"
    assert events["start_lease"]["time"] == "2030-12-26T12:00:00.000000"
    assert events["before_end_lease"]["time"] == "2030-12-27T11:00:00.000000"
    assert events["end_lease"]["time"] == "2030-12-27T12:00:00.000000"


def test_get_returns_what_create_returned(api, create):
    lease = create("same", start=START, end=END, reservations=[RECORDER])

    response = api.get(f"/v1/leases/{lease['id']}")

    assert response.status_code == 200
    assert list(response.json) == ["lease"]
    assert response.json["lease"] == lease


def test_list_wraps_the_leases_in_an_envelope(api, create):
    assert api.get("/v1/leases").json == {"leases": []}
    lease = create("listed", start=START, end=END)

    response = api.get("/v1/leases")

    assert response.status_code == 200
    assert response.json == {"leases": [lease]}


def test_create_accepts_the_lease_wrapped_in_an_envelope(api):
    body = {"lease": helpers.lease_body("wrapped", start=START, end=END)}

    response = api.post("/v1/leases", json=body)

    assert response.status_code == 201, response.json
    assert response.json["lease"]["name"] == "wrapped"


@pytest.mark.parametrize(
    ("start", "end", "start_out", "end_out"),
    [
        (
            "2030-12-26T14:00:00+02:00",
            "2030-12-27T07:30:00-05:00",
            "2030-12-26T12:00:00.000000",
            "2030-12-27T12:30:00.000000",
        ),
        (
            "2030-12-26T12:00:30Z",
            "2030-12-27T12:00:00+00:00",
            "2030-12-26T12:00:30.000000",
            "2030-12-27T12:00:00.000000",
        ),
        (
            "2030-12-26T12:00:45",
            "2030-12-27 12:00",
            "2030-12-26T12:00:45.000000",
            "2030-12-27T12:00:00.000000",
        ),
    ],
)
def test_iso_8601_dates_are_converted_to_utc(
    create, start, end, start_out, end_out
):
    lease = create("iso", start=start, end=end)

    assert (lease["start_date"], lease["end_date"]) == (start_out, end_out)
    times = {e["event_type"]: e["time"] for e in lease["events"]}
    assert times["start_lease"] == start_out
    assert times["end_lease"] == end_out


def test_now_starts_the_lease_at_the_current_time(create):
    before = helpers.utcnow().replace(microsecond=0)

    lease = create("at-once", start="now", end=helpers.future(days=1))

    start = datetime.datetime.strptime(
        lease["start_date"], "%Y-%m-%dT%H:%M:%S.%f"
    )
    assert before <= start <= helpers.utcnow()


def test_before_end_date_defaults_to_minutes_before_end_lease(config, create):
    config.config(minutes_before_end_lease=30, group="manager")

    lease = create("warned", start=START, end=END)

    assert lease["before_end_date"] == "2030-12-27T11:30:00.000000"
    times = {e["event_type"]: e["time"] for e in lease["events"]}
    assert times["before_end_lease"] == "2030-12-27T11:30:00.000000"


def test_before_end_date_of_a_short_lease_is_its_start(create):
    lease = create("short", start=START, end="2030-12-26 12:20")

    assert lease["before_end_date"] == "2030-12-26T12:00:00.000000"


def test_explicit_before_end_date_is_kept(create):
    lease = create(
        "explicit", start=START, end=END, before_end_date="2030-12-27 06:00"
    )

    assert lease["before_end_date"] == "2030-12-27T06:00:00.000000"


def test_delete_answers_204_and_removes_the_lease(api, create, record_file):
    lease = create("doomed", start=START, end=END, reservations=[RECORDER])

    response = api.delete(f"/v1/leases/{lease['id']}")

    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
    check_error(api.get(f"/v1/leases/{lease['id']}"), 404, "LeaseNotFound")
    assert api.get("/v1/leases").json == {"leases": []}
    assert _row_counts() == {"leases": 0, "reservations": 0, "events": 0}
    # A lease that never started is released without an on_end.
    hooks = [r["hook"] for r in helpers.read_records(record_file)]
    assert hooks == ["reserve", "release"]


def test_lease_names_are_reusable_after_delete(api, create):
    lease = create("reused", start=START, end=END)
    assert api.delete(f"/v1/leases/{lease['id']}").status_code == 204

    assert create("reused", start=START, end=END)["id"] != lease["id"]


# Bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "name", "fragments"),
    [
        ({"start_date": MISSING}, "InvalidInput", ["start_date is required"]),
        ({"end_date": MISSING}, "InvalidInput", ["end_date is required"]),
        (
            {"start_date": "tomorrow"},
            "InvalidDate",
            ["start_date", "'tomorrow'", "YYYY-MM-DD HH:MM"],
        ),
        ({"end_date": "2030-13-45 12:00"}, "InvalidDate", ["end_date"]),
        ({"end_date": "2030-12-27 25:00"}, "InvalidDate", ["end_date"]),
        # Valid ISO 8601, but out of range once converted to UTC.
        (
            {"end_date": "9999-12-31T23:00:00-05:00"},
            "InvalidDate",
            ["end_date", "9999-12-31T23:00:00-05:00"],
        ),
        (
            {"start_date": "0001-01-01T00:00:00+05:00"},
            "InvalidDate",
            ["start_date"],
        ),
        (
            {"before_end_date": "soon"},
            "InvalidDate",
            ["before_end_date", "'soon'"],
        ),
        (
            {"end_date": START},
            "InvalidPeriod",
            ["must be later than start_date"],
        ),
        (
            {"end_date": "2030-12-25 12:00"},
            "InvalidPeriod",
            ["must be later than start_date"],
        ),
        (
            {"start_date": "2020-01-01 10:00"},
            "InvalidPeriod",
            ["start_date 2020-01-01 10:00 is in the past", "'now'"],
        ),
        (
            {"end_date": "2030-12-26T12:00:30"},
            "InvalidPeriod",
            ["less than the minimum of 1 minutes"],
        ),
        (
            {"before_end_date": "2030-12-28 12:00"},
            "InvalidPeriod",
            ["before_end_date must lie between start_date and end_date"],
        ),
        ({"name": ""}, "InvalidInput", ["name must be a non-empty string"]),
        ({"name": "   "}, "InvalidInput", ["name must be a non-empty"]),
        ({"name": None}, "InvalidInput", ["name must be a non-empty string"]),
        ({"name": "x" * 81}, "InvalidInput", ["at most 80 characters"]),
        (
            {"reservations": [{"resource_type": "physical:host"}]},
            "UnsupportedResourceType",
            ["'physical:host'", "supports: test:recorder"],
        ),
        (
            {"reservations": [{"min": 1}]},
            "InvalidInput",
            ["reservations[0] needs a resource_type"],
        ),
        (
            {"reservations": [RECORDER, "host"]},
            "InvalidInput",
            ["reservations[1] must be an object"],
        ),
        (
            {"reservations": [dict(RECORDER, color="red")]},
            "InvalidInput",
            ["unknown field", "color"],
        ),
        (
            {"events": [{"event_type": "start_lease"}]},
            "InvalidInput",
            ["events are computed by Climate"],
        ),
    ],
)
def test_create_refuses_bad_input(api, fields, name, fragments):
    body = {"name": "bad", "start_date": START, "end_date": END}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not MISSING}

    response = api.post("/v1/leases", json=body)

    check_error(response, 400, name, *fragments)
    assert api.get("/v1/leases").json == {"leases": []}


def test_start_in_the_current_minute_counts_as_now(create):
    # "YYYY-MM-DD HH:MM" cannot name a time later in this minute.  Not in
    # the minute's last seconds, so the server sees the same minute.
    helpers.wait_for(lambda: helpers.utcnow().second < 58, timeout=3)
    lease = create("this-minute", start=helpers.wire(helpers.utcnow()))

    assert lease["status"] == "PENDING"


def test_minimum_duration_comes_from_the_configuration(api, config):
    config.config(min_lease_duration=120, group="manager")

    response = _post(api, name="brief", start=START, end="2030-12-26 13:00")

    check_error(
        response,
        400,
        "InvalidPeriod",
        "lasts 1:00:00",
        "less than the minimum of 120 minutes",
    )


def test_maximum_duration_comes_from_the_configuration(api, config):
    config.config(max_lease_duration=60, group="manager")

    response = _post(api, name="long", start=START, end="2030-12-26 13:01")

    check_error(
        response,
        400,
        "InvalidPeriod",
        "lasts 1:01:00",
        "more than the maximum of 60 minutes",
    )
    exactly = _post(api, name="long", start=START, end="2030-12-26 13:00")
    assert exactly.status_code == 201, exactly.json


def test_a_name_used_in_the_project_is_a_conflict(api, create):
    create("taken", start=START, end=END)

    response = _post(api, name="taken", start=START, end=END)

    check_error(response, 409, "LeaseNameAlreadyExists", "'taken'")
    assert len(api.get("/v1/leases").json["leases"]) == 1


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_lease_is_404(api, method):
    lease_id = "9b1d4c6e-0000-4000-8000-000000000000"
    kwargs = {"json": {"name": "renamed"}} if method == "put" else {}

    response = getattr(api, method)(f"/v1/leases/{lease_id}", **kwargs)

    check_error(response, 404, "LeaseNotFound", lease_id)


# Nothing half-written -------------------------------------------------------


def test_refused_reservation_leaves_nothing_behind(api, record_file):
    response = _post(
        api, name="full-house", start=START, end=END, reservations=[RECORDER]
    )

    check_error(
        response,
        409,
        "NotEnoughResourcesAvailable",
        "not enough resources available",
        "the test plugin is full",
    )
    assert _row_counts() == {"leases": 0, "reservations": 0, "events": 0}
    assert db_api.lease_list() == []
    assert api.get("/v1/leases").json == {"leases": []}


def test_second_reservation_failing_rolls_back_the_first(api, record_file):
    response = _post(
        api,
        name="half",
        start=START,
        end=END,
        reservations=[RECORDER, dict(RECORDER, bogus=1)],
    )

    check_error(response, 400, "InvalidInput", "bogus")
    # The first reservation was admitted, then rolled back with the lease.
    assert [r["hook"] for r in helpers.read_records(record_file)] == [
        "reserve"
    ]
    assert _row_counts() == {"leases": 0, "reservations": 0, "events": 0}
    assert db_api.lease_list() == []
    assert api.get("/v1/leases").json == {"leases": []}
    # Nothing holds the name either.
    retry = _post(api, name="half", start=START, end=END)
    assert retry.status_code == 201, retry.json
