"""climate.nova.api's reading of lease_params (the filter itself runs
in the real nova-api: tests/services/test_nova_instances.py)."""

import json

import pytest

from climate.nova import api


def test_lease_params_become_a_lease_of_the_server():
    params = json.dumps(
        {"name": "lease1", "start": "now", "end": "2030-12-01 16:07"}
    )
    assert api.lease_request(params, "s-1") == {
        "name": "lease1",
        "start_date": "now",
        "end_date": "2030-12-01 16:07",
        "reservations": [
            {"resource_type": "virtual:instance", "server_id": "s-1"}
        ],
    }
    # Nova hands scheduler hints over as lists.
    assert api.lease_request([params], "s-1")["name"] == "lease1"


@pytest.mark.parametrize(
    "params, says",
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"start": "now"}), "needs end"),
        (json.dumps({"end": "2030-12-01 16:07"}), "needs start"),
        (None, "not JSON"),
    ],
)
def test_bad_lease_params_are_refused(params, says):
    with pytest.raises(api.BadLeaseParams, match=says):
        api.lease_request(params)


def test_the_filter_needs_the_lease_api_url():
    with pytest.raises(ValueError, match="climate_url"):
        api.filter_factory({})
    assert callable(api.filter_factory({}, climate_url="http://c:1234"))
