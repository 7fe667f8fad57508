"""The client names every write with an Idempotency-Key and sends it
again, with the same key, while the service answers 503 with Retry-After.

The service is a small real HTTP server in this process that answers as
told and records what it received.
"""

import http.server
import json
import threading

import pytest

from climateclient import client as climate_client
from climateclient import exceptions


class _Service(http.server.BaseHTTPRequestHandler):
    answers = []
    received = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).received.append(
            (self.command, self.path, dict(self.headers), body)
        )
        status, headers, payload = type(self).answers.pop(0)
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def service():
    _Service.answers = []
    _Service.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Service
    server.shutdown()
    server.server_close()


def _client(server):
    client = climate_client.Client(
        endpoint=f"http://127.0.0.1:{server.server_address[1]}"
    )
    client.pauses = []
    client._sleep = client.pauses.append
    return client


def _outage():
    return (
        503,
        {"Retry-After": "2"},
        {
            "error_code": 503,
            "error_name": "ServiceUnavailable",
            "error_message": "The message broker is unreachable",
        },
    )


def test_a_create_is_retried_through_an_outage_with_one_key(service):
    server, handler = service
    lease = {"id": "L1", "name": "x"}
    handler.answers = [_outage(), _outage(), (201, {}, {"lease": lease})]
    client = _client(server)

    created = client.post("/leases", json={"lease": {"name": "x"}})

    assert created == {"lease": lease}
    keys = {r[2]["Idempotency-Key"] for r in handler.received}
    assert len(handler.received) == 3
    assert len(keys) == 1 and all(keys)
    bodies = {r[3] for r in handler.received}
    assert len(bodies) == 1
    # Retry-After (2 s) at least, then longer pauses.
    assert client.pauses == [2.0, 2.0]


def test_each_create_has_its_own_key(service):
    server, handler = service
    handler.answers = [(201, {}, {"lease": {}}), (201, {}, {"lease": {}})]
    client = _client(server)

    client.post("/leases", json={})
    client.post("/leases", json={})

    first, second = (r[2]["Idempotency-Key"] for r in handler.received)
    assert first != second


def test_reads_carry_no_key(service):
    server, handler = service
    handler.answers = [(200, {}, {"leases": []})]

    _client(server).get("/leases")

    assert "Idempotency-Key" not in handler.received[0][2]


def test_the_retries_end_with_the_last_answer(service):
    server, handler = service
    handler.answers = [_outage() for _ in range(3)]
    client = _client(server)
    client.retries = 2

    with pytest.raises(exceptions.ServiceUnavailable) as raised:
        client.post("/leases", json={})

    assert "message broker" in raised.value.message
    assert len(handler.received) == 3


def test_a_503_without_retry_after_is_not_retried(service):
    server, handler = service
    handler.answers = [
        (503, {}, {"error_message": "enforcement service down"})
    ]

    with pytest.raises(exceptions.ServiceUnavailable):
        _client(server).post("/leases", json={})

    assert len(handler.received) == 1


def test_a_delete_done_by_an_unconfirmed_attempt_is_done(service):
    server, handler = service
    handler.answers = [
        _outage(),
        (404, {}, {"error_message": "Lease L1 not found"}),
    ]

    assert _client(server).delete("/leases/L1") is None
