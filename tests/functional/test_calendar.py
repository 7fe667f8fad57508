"""The web calendar in a real browser: Debian's chromium, headless, driven
by Playwright, against a live ``climate-all``.  A screenshot of the run is
kept in the test's temporary folder (``calendar.png``)."""

import datetime

import pytest
import requests

from tests import helpers

pytestmark = pytest.mark.functional

CHROMIUM = "/usr/bin/chromium"
ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
ALICE = {"X-Project-Id": "alice", "X-User-Id": "alice"}
BOB = {"X-Project-Id": "bob", "X-User-Id": "bob"}


@pytest.fixture
def service(tmp_path):
    port = helpers.free_port()
    config = helpers.write_config(
        tmp_path / "climate.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "api": {"port": port},
            "manager": {"plugins": "physical.host.plugin"},
        },
    )
    process = helpers.ClimateProcess(
        "climate-all", config, tmp_path / "climate-all.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/", timeout=60)
        yield url
    finally:
        process.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        yield browser
        browser.close()


def _at(day, hours):
    return (day + datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def _lease(url, name, start, end, headers, count=1):
    response = requests.post(
        f"{url}/v1/leases",
        json={
            "name": name,
            "start_date": start,
            "end_date": end,
            "reservations": [
                {"resource_type": "physical:host", "min": count, "max": count}
            ],
        },
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["lease"]


def test_the_calendar_shows_books_and_explains(service, browser, tmp_path):
    url = service
    for name in ("node-a", "node-b"):
        response = requests.post(
            f"{url}/v1/os-hosts",
            json={"name": name, "rack": "r1"},
            headers=ADMIN,
            timeout=30,
        )
        assert response.status_code == 201, response.text
    day = helpers.utcnow().replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + datetime.timedelta(days=2)
    _lease(url, "api-lease", _at(day, 2), _at(day, 6), ALICE)
    _lease(url, "bobs-secret", _at(day, 3), _at(day, 5), BOB)

    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(
        f"{url}/calendar?project=alice&user=alice&zoom=day&start={_at(day, 0)}"
    )
    # The page shows the lease made through the API, and Bob's as busy,
    # without its name.
    own = page.locator(".bar.own")
    own.wait_for(timeout=10000)
    assert own.inner_text() == "api-lease"
    assert page.locator(".bar.busy").count() == 1
    assert page.locator(".bar.busy").inner_text() == "busy"
    assert "bobs-secret" not in page.content()
    assert page.locator(".host-row").count() == 2

    # Selecting 08:00-10:00 on a host opens the form with that range.
    track = page.locator(".host-row .track").first.bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] * 8 / 24, y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 10 / 24, y, steps=5)
    page.mouse.up()
    assert page.locator("#lease-form").is_visible()
    assert page.input_value("#f-start") == _at(day, 8)
    assert page.input_value("#f-end") == _at(day, 10)
    page.fill("#f-name", "from-calendar")
    page.click("#f-submit")
    page.locator("#message.ok").wait_for(timeout=10000)
    assert "from-calendar created" in page.inner_text("#message")
    # It is in the API, and on the page.
    leases = requests.get(
        f"{url}/v1/leases", headers=ALICE, timeout=30
    ).json()["leases"]
    [made] = [lease for lease in leases if lease["name"] == "from-calendar"]
    assert made["start_date"].startswith(_at(day, 8).replace(" ", "T"))
    assert made["end_date"].startswith(_at(day, 10).replace(" ", "T"))
    page.locator(".bar.own", has_text="from-calendar").wait_for(timeout=10000)

    # Two hosts from 03:00 to 05:00 are refused: the message and the next
    # window show (both hosts are free from 06:00 to 08:00).  Dragged on
    # the second host, across Bob's lease.
    second = page.locator(".host-row .track").nth(1).bounding_box()
    y = second["y"] + second["height"] / 2
    page.mouse.move(second["x"] + second["width"] * 3 / 24, y)
    page.mouse.down()
    page.mouse.move(second["x"] + second["width"] * 5 / 24, y, steps=5)
    page.mouse.up()
    page.fill("#f-name", "too-many")
    page.fill("#f-count", "2")
    page.click("#f-submit")
    page.locator("#message.error").wait_for(timeout=10000)
    assert "Not enough resources available" in page.inner_text("#message")
    page.locator("#next-available").wait_for(state="visible", timeout=10000)
    assert page.inner_text("#next-window") == (
        f"{_at(day, 6)} to {_at(day, 8)}"
    )
    page.click("#use-next")
    assert page.input_value("#f-start") == _at(day, 6)
    page.click("#f-submit")
    page.locator("#message.ok").wait_for(timeout=10000)

    # Extension and availability are one click from a lease.
    page.locator(".bar.own", has_text="api-lease").click()
    page.click("#ext-button")
    page.wait_for_function(
        "document.getElementById('panel-output').textContent.length > 0"
    )
    assert "latest end keeping its hosts" in page.inner_text("#panel-output")
    page.click("#avail-button")
    page.wait_for_function(
        "document.getElementById('panel-output').textContent.startsWith("
        "'from ')"
    )
    page.screenshot(path=str(tmp_path / "calendar.png"), full_page=True)
    assert (tmp_path / "calendar.png").stat().st_size > 10000
