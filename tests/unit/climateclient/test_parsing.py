"""Reading --reservation key=value lists, durations and --duration ends."""

import datetime
import json

import pytest

from climateclient.cli import parsing

QUERY = '["and",["==","$a","1"],["==","$b","2"]]'


def test_split_keeps_commas_inside_brackets_and_quotes():
    text = f'min=1,resource_properties={QUERY},note="x, y",b={{"k": [1,2]}}'

    assert parsing.split_top_level(text) == [
        "min=1",
        f"resource_properties={QUERY}",
        'note="x, y"',
        'b={"k": [1,2]}',
    ]


def test_split_honours_escaped_quotes():
    assert parsing.split_top_level(r'a="x\",y",b=2') == [
        r'a="x\",y"',
        "b=2",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a=["x",', "missing ']'"),
        ("a=x]", "unbalanced ']'"),
        ("a=[1},b=2", "unbalanced '}'"),
        ('a="open', 'unclosed " quote'),
    ],
)
def test_split_refuses_unbalanced_text(text, message):
    with pytest.raises(parsing.ParseError, match=message):
        parsing.split_top_level(text)


def test_reservation_with_a_nested_query():
    values = parsing.reservation(
        "resource_type=physical:host,min=1,max=2,"
        f"resource_properties={QUERY},"
        'hypervisor_properties=[">=","$vcpus","4"]'
    )

    assert values == {
        "resource_type": "physical:host",
        "min": 1,
        "max": 2,
        "resource_properties": QUERY,
        "hypervisor_properties": '[">=","$vcpus","4"]',
    }
    # The queries stay JSON text, as the API wants them.
    assert json.loads(values["resource_properties"])[0] == "and"


def test_quoted_values_lose_their_quotes():
    values = parsing.reservation(
        f"resource_type=physical:host,resource_properties='{QUERY}',"
        'before_end="default"'
    )

    assert values["resource_properties"] == QUERY
    assert values["before_end"] == "default"


def test_only_count_fields_become_integers():
    values = parsing.reservation(
        "resource_type=virtual:instance,amount=3,vcpus=2,memory_mb=512,"
        "disk_gb=10,affinity=False,note=42"
    )

    assert values["amount"] == 3
    assert values["vcpus"] == 2
    assert values["memory_mb"] == 512
    assert values["disk_gb"] == 10
    assert values["affinity"] == "False"
    assert values["note"] == "42"


def test_min_that_is_not_a_number_is_left_to_the_server():
    assert parsing.reservation("resource_type=x,min=two")["min"] == "two"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min=1,max=2", "needs resource_type="),
        ("resource_type=x,min", "expected key=value"),
        ("resource_type=x,=3", "expected key=value"),
        ("resource_type=x,min=1,min=2", "min is given twice"),
        ("", "needs key=value pairs"),
    ],
)
def test_bad_reservations(text, message):
    with pytest.raises(parsing.ParseError, match=message):
        parsing.reservation(text)


def test_trailing_comma_and_spaces_are_forgiven():
    assert parsing.reservation(" resource_type = x , min = 1 ,") == {
        "resource_type": "x",
        "min": 1,
    }


def test_blazar_physical_reservation():
    values = parsing.physical_reservation(
        'min=1,max=2,hypervisor_properties=,resource_properties=["==","$g","a"]'
    )

    assert values == {
        "resource_type": "physical:host",
        "min": 1,
        "max": 2,
        "hypervisor_properties": "",
        "resource_properties": '["==","$g","a"]',
    }


def test_blazar_physical_reservation_refuses_other_fields():
    with pytest.raises(parsing.ParseError, match="unknown field.*amount"):
        parsing.physical_reservation("min=1,max=1,amount=2")


def test_reservation_update_keeps_the_id_and_refuses_a_type():
    assert parsing.reservation_update("id=abc,max=3") == {
        "id": "abc",
        "max": 3,
    }
    with pytest.raises(parsing.ParseError, match="cannot change"):
        parsing.reservation_update("id=abc,resource_type=x")


def test_key_value():
    assert parsing.key_value("gpu=a100") == ("gpu", "a100")
    assert parsing.key_value("query=a=b") == ("query", "a=b")
    assert parsing.key_value("empty=") == ("empty", "")
    with pytest.raises(parsing.ParseError, match="KEY=VALUE"):
        parsing.key_value("gpu")


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", datetime.timedelta(seconds=30)),
        ("90m", datetime.timedelta(minutes=90)),
        ("2h", datetime.timedelta(hours=2)),
        (" 1d ", datetime.timedelta(days=1)),
        ("1w", datetime.timedelta(weeks=1)),
    ],
)
def test_durations(text, delta):
    assert parsing.parse_duration(text) == delta
    assert parsing.duration(text) == text  # sent as written


@pytest.mark.parametrize("text", ["", "2", "h", "2 hours", "-1h", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(parsing.ParseError, match="invalid duration"):
        parsing.duration(text)


def test_end_of_an_explicit_start_keeps_its_format():
    assert (
        parsing.end_from_duration("2030-12-31 22:00", "3h")
        == "2031-01-01 01:00"
    )
    assert (
        parsing.end_from_duration("2030-06-01T10:00:00+02:00", "1d")
        == "2030-06-02T10:00:00+02:00"
    )
    assert (
        parsing.end_from_duration("2030-06-01T10:00:00Z", "90m")
        == "2030-06-01T11:30:00+00:00"
    )


def test_end_of_now_comes_from_the_utc_clock_to_the_second():
    now = datetime.datetime(2030, 1, 1, 23, 59, 30, 700000)

    end = parsing.end_from_duration("now", "2h", now=now)

    assert end == "2030-01-02T01:59:30+00:00"


def test_end_of_now_without_a_clock_given_is_about_now():
    end = datetime.datetime.fromisoformat(
        parsing.end_from_duration("NOW", "1h")
    )
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        hours=1
    )

    assert abs((end - expected).total_seconds()) < 5


def test_end_of_an_unreadable_start():
    with pytest.raises(parsing.ParseError, match="invalid start date"):
        parsing.end_from_duration("tomorrow", "1h")
