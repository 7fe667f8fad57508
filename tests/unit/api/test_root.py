"""``GET /`` and ``GET /v1``: the API versions."""


def test_root_lists_the_versions_with_300(api):
    response = api.get("/")

    assert response.status_code == 300
    assert response.json == {
        "versions": [
            {
                "id": "v1.0",
                "status": "CURRENT",
                "links": [{"href": "http://localhost/v1", "rel": "self"}],
            }
        ]
    }
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")


def test_v1_describes_itself(api):
    response = api.get("/v1")

    assert response.status_code == 200
    assert response.json["version"]["id"] == "v1.0"
    assert response.json["version"]["status"] == "CURRENT"


def test_version_links_follow_the_host_asked_for(api):
    response = api.get("/", base_url="http://climate.example:1234")

    [link] = response.json["versions"][0]["links"]
    assert link["href"] == "http://climate.example:1234/v1"
