"""GET /v1/leases: filters, pagination and refused query parameters."""

import pytest

from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


def _names(response):
    assert response.status_code == 200, response.json
    return sorted(lease["name"] for lease in response.json["leases"])


def test_filter_by_status(api, create, wait_status):
    running = create("running", start="now")
    create("waiting", start=START, end=END)
    wait_status(running["id"], "ACTIVE")

    assert _names(api.get("/v1/leases?status=ACTIVE")) == ["running"]
    assert _names(api.get("/v1/leases?status=pending")) == ["waiting"]
    assert _names(api.get("/v1/leases?status=TERMINATED")) == []


def test_filter_by_name(api, create):
    create("alpha", start=START, end=END)
    create("beta", start=START, end=END)

    assert _names(api.get("/v1/leases?name=beta")) == ["beta"]
    assert _names(api.get("/v1/leases?name=gamma")) == []


def _pages(api, url):
    """Follow the ``next`` links from ``url``; return the pages' names."""
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.json
        pages.append([lease["name"] for lease in response.json["leases"]])
        links = response.json.get("leases_links", [])
        assert [link["rel"] for link in links] in ([], ["next"])
        url = links[0]["href"] if links else None
        assert len(pages) < 10, "pagination does not end"
    return pages


def test_limit_and_marker_page_through_every_lease(api, create):
    names = [f"lease-{i}" for i in range(5)]
    for name in names:
        create(name, start=START, end=END)

    pages = _pages(api, "/v1/leases?limit=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    seen = [name for page in pages for name in page]
    assert sorted(seen) == names
    # The pages follow the unpaged listing's order.
    assert seen == [
        lease["name"] for lease in api.get("/v1/leases").json["leases"]
    ]


def test_next_link_keeps_the_filters(api, create):
    for i in range(3):
        create(f"lease-{i}", start=START, end=END)

    first = api.get("/v1/leases?limit=1&status=PENDING").json
    href = first["leases_links"][0]["href"]

    assert "status=PENDING" in href
    assert "limit=1" in href
    assert f"marker={first['leases'][0]['id']}" in href


def test_no_next_link_when_the_page_is_not_full(api, create):
    create("only", start=START, end=END)

    body = api.get("/v1/leases?limit=5").json

    assert [lease["name"] for lease in body["leases"]] == ["only"]
    assert "leases_links" not in body


def test_max_limit_is_the_default_page_size(api, config, create):
    config.config(max_limit=2, group="api")
    for i in range(3):
        create(f"lease-{i}", start=START, end=END)

    body = api.get("/v1/leases").json

    assert len(body["leases"]) == 2
    assert [link["rel"] for link in body["leases_links"]] == ["next"]
    assert [len(page) for page in _pages(api, "/v1/leases")] == [2, 1]


@pytest.mark.parametrize(
    ("query", "name", "fragments"),
    [
        (
            "sort=name",
            "InvalidInput",
            [
                "unknown query parameter(s) sort",
                "allowed: all_projects, limit, marker",
            ],
        ),
        ("limit=0", "InvalidInput", ["limit must be an integer from 1 to"]),
        ("limit=-3", "InvalidInput", ["limit must be an integer", "'-3'"]),
        ("limit=ten", "InvalidInput", ["limit must be an integer", "'ten'"]),
        ("limit=1001", "InvalidInput", ["from 1 to 1000", "'1001'"]),
        (
            "marker=9b1d4c6e-0000-4000-8000-000000000000",
            "InvalidMarker",
            ["marker 9b1d4c6e-0000-4000-8000-000000000000"],
        ),
        (
            "status=SLEEPING",
            "InvalidInput",
            ["unknown status 'SLEEPING'", "ACTIVE", "PENDING"],
        ),
    ],
)
def test_bad_list_parameters_are_400(api, query, name, fragments):
    check_error(api.get(f"/v1/leases?{query}"), 400, name, *fragments)
