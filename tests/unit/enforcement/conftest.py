"""Fixtures of the enforcement tests: a manager with both plugins and a
real HTTP usage service on loopback."""

import http.server
import json
import threading
import time

import pytest

from climate.manager import service


@pytest.fixture
def manager(database, config):
    """The in-process manager, hosts and the recorder plugin enabled."""
    config.config(
        plugins=["physical.host.plugin", "test.recorder.plugin"],
        group="manager",
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


class UsageService:
    """An operator's usage service: records what it is sent and answers
    with ``answers[endpoint]``, a ``(status, body)`` pair (default 204)
    or a number of seconds to stall before a 204."""

    def __init__(self):
        self.calls = []
        self.answers = {}
        self.lock = threading.Lock()
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), handler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/usage"
        self._thread = threading.Thread(
            target=self.server.serve_forever, daemon=True
        )
        self._thread.start()

    def _handler(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                endpoint = self.path.rsplit("/", 1)[-1]
                with owner.lock:
                    owner.calls.append(
                        {
                            "path": self.path,
                            "endpoint": endpoint,
                            "body": body,
                            "token": self.headers.get("X-Auth-Token"),
                        }
                    )
                answer = owner.answers.get(endpoint, (204, None))
                if isinstance(answer, (int, float)):
                    time.sleep(answer)
                    answer = (204, None)
                status, payload = answer
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def endpoints(self):
        with self.lock:
            return [call["endpoint"] for call in self.calls]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def usage_service():
    server = UsageService()
    yield server
    server.stop()
