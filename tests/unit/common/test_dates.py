"""Parsing, formatting and comparing dates (climate.common.dates)."""

import datetime

import pytest

from climate import exceptions
from climate.common import dates

NOW = datetime.datetime(2030, 6, 1, 12, 34, 56)


def dt(*args):
    return datetime.datetime(*args)


@pytest.mark.parametrize("text", ["now", "NOW", " Now "])
def test_parse_now_returns_the_given_now(text):
    assert dates.parse(text, "start_date", now=NOW) == NOW


def test_parse_now_defaults_to_utcnow_to_the_second():
    before = dates.utcnow()
    parsed = dates.parse("now", "start_date")
    after = dates.utcnow()
    assert before <= parsed <= after
    assert parsed.tzinfo is None
    assert parsed.microsecond == 0


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2030-12-26 12:00", dt(2030, 12, 26, 12, 0)),
        (" 2030-12-26 12:00 ", dt(2030, 12, 26, 12, 0)),
        ("2030-12-26T12:00:30", dt(2030, 12, 26, 12, 0, 30)),
        ("2030-12-26 12:00:30", dt(2030, 12, 26, 12, 0, 30)),
        ("2030-12-26T12:00:30.250000", dt(2030, 12, 26, 12, 0, 30, 250000)),
        ("2030-12-26T12:00:00Z", dt(2030, 12, 26, 12, 0)),
        ("2030-12-26T12:00:00+00:00", dt(2030, 12, 26, 12, 0)),
        ("2030-12-26T14:00:00+02:00", dt(2030, 12, 26, 12, 0)),
        ("2030-12-26T07:30:00-04:30", dt(2030, 12, 26, 12, 0)),
        # An offset can move the date across midnight.
        ("2030-12-27T01:00:00+02:00", dt(2030, 12, 26, 23, 0)),
    ],
)
def test_parse_accepts_wire_and_iso_formats(text, expected):
    parsed = dates.parse(text, "start_date", now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "tomorrow",
        "2030-13-01 12:00",
        "2030-12-26 25:00",
        "26/12/2030 12:00",
        "2030-12-26 12:00 garbage",
        "nowish",
    ],
)
def test_parse_garbage_raises_invalid_date_naming_the_field(value):
    with pytest.raises(exceptions.InvalidDate) as info:
        dates.parse(value, "end_date", now=NOW)
    error = info.value
    assert error.code == 400
    assert isinstance(error, exceptions.Invalid)
    assert "end_date" in error.message
    assert repr(value) in error.message
    assert error.kwargs["field"] == "end_date"


@pytest.mark.parametrize(
    "value", [None, 12, 1.5, ["now"], {"date": "now"}, NOW, NOW.date()]
)
def test_parse_non_strings_raise_invalid_date(value):
    with pytest.raises(exceptions.InvalidDate) as info:
        dates.parse(value, "before_end_date", now=NOW)
    assert "before_end_date" in info.value.message


def test_utcnow_is_naive_utc():
    now = dates.utcnow()
    aware = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert now.tzinfo is None
    assert abs((aware - now).total_seconds()) < 2


def test_is_now():
    assert dates.is_now("now")
    assert dates.is_now(" NOW ")
    assert not dates.is_now("2030-01-01 00:00")
    assert not dates.is_now(None)
    assert not dates.is_now(NOW)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("30s", datetime.timedelta(seconds=30)),
        ("90m", datetime.timedelta(minutes=90)),
        ("2h", datetime.timedelta(hours=2)),
        (" 1d ", datetime.timedelta(days=1)),
        ("1 w", datetime.timedelta(weeks=1)),
        ("0m", datetime.timedelta(0)),
    ],
)
def test_parse_duration(text, expected):
    assert dates.parse_duration(text, "prolong_for") == expected


@pytest.mark.parametrize(
    "value", ["", "2", "h", "2x", "-1h", "1.5h", "2 hours", None, 2, ["2h"]]
)
def test_parse_duration_refuses_garbage_naming_the_field(value):
    with pytest.raises(exceptions.InvalidInput) as info:
        dates.parse_duration(value, "reduce_by")
    assert info.value.code == 400
    assert "reduce_by" in info.value.message
    assert "'2h'" in info.value.message


def test_format_date():
    assert dates.format_date(dt(2017, 12, 26, 12, 0)) == (
        "2017-12-26T12:00:00.000000"
    )
    assert dates.format_date(dt(2017, 12, 26, 12, 0, 5, 123)) == (
        "2017-12-26T12:00:05.000123"
    )
    # What comes back from an RPC call: an ISO string.
    assert dates.format_date("2017-12-26T12:00:00.000000") == (
        "2017-12-26T12:00:00.000000"
    )
    assert dates.format_date(None) is None


def test_format_timestamp():
    assert dates.format_timestamp(dt(2017, 12, 27, 10, 0, 0, 999)) == (
        "2017-12-27 10:00:00"
    )
    assert dates.format_timestamp("2017-12-27T10:00:00.000000") == (
        "2017-12-27 10:00:00"
    )
    assert dates.format_timestamp(None) is None


def test_as_datetime():
    assert dates.as_datetime(None) is None
    assert dates.as_datetime(NOW) is NOW
    assert dates.as_datetime("2030-06-01T12:34:56") == NOW
    assert dates.as_datetime("2030-06-01T12:34:56.000000") == NOW


def test_format_and_parse_round_trip():
    assert dates.parse(dates.format_date(NOW), "start_date") == NOW


def test_a_day_without_a_time_is_refused_unless_a_day_is_meant():
    with pytest.raises(exceptions.InvalidDate) as info:
        dates.parse("2030-12-26", "start_date")
    assert "give a time too, such as '2030-12-26 12:00'" in info.value.message
    assert dates.parse("2030-12-26", "until", date_only=True) == (
        datetime.datetime(2030, 12, 26)
    )
