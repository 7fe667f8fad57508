"""``climate-all`` as an operator watches it: /healthcheck and /metrics."""

import pytest
import requests
from prometheus_client import parser

from tests import helpers

pytestmark = pytest.mark.functional


def _metrics(url):
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthcheck_and_metrics(tmp_path, start_climate_all):
    climate = start_climate_all(tmp_path / "state")

    health = requests.get(f"{climate.url}/healthcheck", timeout=10)
    assert (health.status_code, health.text) == (200, "database OK")

    created = requests.post(
        climate.leases_url(), json=helpers.lease_body("watched"), timeout=10
    )
    assert created.status_code == 201
    lease_id = created.json()["lease"]["id"]

    def started():
        samples = _metrics(climate.url)
        key = ("climate_leases", frozenset({("status", "ACTIVE")}))
        return samples.get(key) == 1 and samples

    samples = helpers.wait_for(started, timeout=10, message="ACTIVE lease")
    done = {("event_type", "start_lease"), ("status", "DONE")}
    assert samples[("climate_events", frozenset(done))] == 1
    assert samples[("climate_event_lag_seconds", frozenset())] == 0
    post = {("method", "POST"), ("route", "/v1/leases"), ("status", "201")}
    assert samples[("climate_api_requests_total", frozenset(post))] == 1
    assert lease_id not in str(samples)  # routes, not URLs
