"""The fields of a physical:host reservation
(climate.plugins.hosts.request)."""

import json

import pytest

from climate import exceptions
from climate.common import host_query
from climate.plugins.hosts import request


def invalid(values, current=None):
    with pytest.raises(exceptions.InvalidInput) as info:
        request.parse(values, current)
    assert info.value.code == 400
    return info.value.message


def test_min_and_max_with_defaults_for_the_rest():
    wanted = request.parse({"min": 1, "max": 3})
    assert wanted == request.HostRequest(
        count_min=1,
        count_max=3,
        hypervisor_properties="",
        resource_properties="",
        before_end="default",
    )
    assert wanted.queries == []
    assert wanted.named_queries() == []


def test_columns_are_what_the_database_stores():
    wanted = request.parse(
        {
            "min": 2,
            "max": 2,
            "hypervisor_properties": '[">=", "$vcpus", "4"]',
            "resource_properties": '["==", "$gpu", "a100"]',
            "before_end": "",
        }
    )
    assert wanted.columns() == {
        "count_min": 2,
        "count_max": 2,
        "hypervisor_properties": '[">=", "$vcpus", "4"]',
        "resource_properties": '["==", "$gpu", "a100"]',
        "before_end": "",
        "on_end": "kill",
        "grace_period": 0,
    }


@pytest.mark.parametrize(
    ("count", "expected"), [("2", 2), (" 3 ", 3), (7, 7), ("10", 10)]
)
def test_counts_may_be_numeric_strings(count, expected):
    wanted = request.parse({"min": count, "max": "10"})
    assert wanted.count_min == expected


@pytest.mark.parametrize("field", ["min", "max"])
@pytest.mark.parametrize(
    "value", [0, -1, "0", "-1", "two", "", "1.5", 1.5, 2.0, True, [1], {}]
)
def test_counts_must_be_positive_integers(field, value):
    values = {"min": 1, "max": 1, field: value}
    message = invalid(values)
    assert message == f"{field} must be an integer from 1 to 2147483647"


@pytest.mark.parametrize("field", ["min", "max"])
def test_counts_are_required(field):
    values = {"min": 1, "max": 1}
    del values[field]
    assert invalid(values) == f"physical:host reservations need {field}"


@pytest.mark.parametrize("field", ["min", "max"])
def test_a_null_count_is_missing(field):
    values = {"min": 1, "max": 1, field: None}
    assert field in invalid(values)


def test_min_must_not_exceed_max():
    assert invalid({"min": 3, "max": 2}) == (
        "min (3) must not be greater than max (2)"
    )


def test_unknown_fields_are_named_with_the_allowed_ones():
    message = invalid({"min": 1, "max": 1, "count": 2, "amount": 1})
    assert "unknown physical:host field(s) amount, count" in message
    assert "min, max, hypervisor_properties" in message


def test_queries_may_be_sent_as_lists():
    wanted = request.parse(
        {
            "min": 1,
            "max": 1,
            "resource_properties": ["==", "$gpu", "a100"],
            "hypervisor_properties": [],
        }
    )
    assert json.loads(wanted.resource_properties) == ["==", "$gpu", "a100"]
    assert wanted.hypervisor_properties == ""
    assert wanted.queries == [host_query.Comparison("==", "gpu", "a100", None)]


def test_named_queries_leave_out_empty_ones():
    wanted = request.parse(
        {
            "min": 1,
            "max": 1,
            "hypervisor_properties": "  ",
            "resource_properties": '[">", "$rack", "3"]',
        }
    )
    assert wanted.hypervisor_properties == ""
    assert wanted.named_queries() == [
        ("resource_properties", host_query.Comparison(">", "rack", "3", 3.0))
    ]


@pytest.mark.parametrize(
    "field", ["hypervisor_properties", "resource_properties"]
)
@pytest.mark.parametrize("value", [5, {"==": 1}, True])
def test_queries_must_be_json_strings(field, value):
    message = invalid({"min": 1, "max": 1, field: value})
    assert message == f"{field} must be a JSON query string"


@pytest.mark.parametrize(
    "field", ["hypervisor_properties", "resource_properties"]
)
def test_a_malformed_query_is_refused_at_once_naming_its_field(field):
    message = invalid({"min": 1, "max": 1, field: '["~", "$vcpus", "4"]'})
    assert message.startswith(f"{field}: unknown operator '~'")


@pytest.mark.parametrize("before_end", ["", "default", None])
def test_before_end_actions(before_end):
    wanted = request.parse({"min": 1, "max": 1, "before_end": before_end})
    assert wanted.before_end == (
        before_end if before_end is not None else "default"
    )


@pytest.mark.parametrize("before_end", ["snapshot", "DEFAULT", 1])
def test_unknown_before_end_actions_are_refused(before_end):
    message = invalid({"min": 1, "max": 1, "before_end": before_end})
    assert message == "before_end must be one of '', 'default'"


def test_an_update_changes_only_the_fields_it_sends():
    current = {
        "min": 1,
        "max": 2,
        "hypervisor_properties": '[">=", "$vcpus", "4"]',
        "resource_properties": "",
        "before_end": "default",
    }
    wanted = request.parse({"max": 5}, current)
    assert (wanted.count_min, wanted.count_max) == (1, 5)
    assert wanted.hypervisor_properties == '[">=", "$vcpus", "4"]'


def test_an_update_is_checked_against_the_current_fields():
    current = {"min": 2, "max": 3}
    assert invalid({"max": 1}, current) == (
        "min (2) must not be greater than max (1)"
    )


def test_an_update_may_clear_a_query():
    current = {"min": 1, "max": 1, "resource_properties": '["==", "$a", "1"]'}
    wanted = request.parse({"resource_properties": ""}, current)
    assert wanted.queries == []
