"""``climate.nova.api``: a WSGI filter for nova-api's paste pipeline that
turns a hinted boot into a reserved server.

``nova boot ... --hint reserved=True --hint lease_params='{"name":
"lease1", "start": "now", "end": "2030-12-01 16:07"}'`` reaches nova-api
as ``POST /servers`` with those two scheduler hints.  The filter:

1. checks ``lease_params`` (JSON with ``start`` and ``end``; else 400,
   before any server exists) and takes both hints out of the request;
2. lets Nova create the server, and waits (at most ``wait_seconds``)
   until it is ACTIVE, so it can be shelved;
3. creates the lease as the user, with the user's token, through the
   Lease API: ``{"resource_type": "virtual:instance", "server_id": id}``;
4. answers the boot as Nova did, plus ``X-Climate-Lease-Id``.

A lease the Lease API refuses deletes the server the filter created and
answers the boot with that refusal (its status and message): nothing is
left behind.

In ``api-paste.ini``, after the context middleware::

    [filter:climate]
    paste.filter_factory = climate.nova.api:filter_factory
    climate_url = http://climate.example.org:1234

    [composite:openstack_compute_api_v21]
    keystone = ... keystonecontext climate osapi_compute_app_v21

Installed with Climate's ``nova`` extra (``climate-leases[nova]``) in
nova-api's environment; it needs only webob and requests, both
nova's.
"""

import json
import time

import requests
import webob
import webob.dec

LEASE_HEADER = "X-Climate-Lease-Id"
_HINT_KEYS = ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints")
_TRUE = {"true", "1", "yes"}
# Headers of the user's request passed on to the Lease API: the token,
# and the identity headers a deployment without Keystone trusts.
_IDENTITY = ("X-Auth-Token", "X-User-Id", "X-Project-Id", "X-Roles")
_SETTLED = {"ACTIVE", "ERROR", "SHUTOFF"}


def filter_factory(global_conf, **local_conf):
    """The paste filter factory (``paste.filter_factory``)."""
    options = {**global_conf, **local_conf}
    if not options.get("climate_url"):
        raise ValueError(
            "climate.nova.api needs climate_url (the Lease API's URL) in "
            "its [filter:...] section of api-paste.ini"
        )

    def _filter(app):
        return ReservedBootFilter(
            app,
            options["climate_url"],
            wait_seconds=float(options.get("wait_seconds", 120)),
            timeout=float(options.get("timeout", 60)),
        )

    return _filter


def _fault(status, message):
    """An answer shaped as Nova's faults: ``{"badRequest": {...}}``."""
    kind = {400: "badRequest", 404: "itemNotFound", 409: "conflictingRequest"}
    name = kind.get(status, "computeFault")
    return webob.Response(
        status=status,
        content_type="application/json",
        charset="utf-8",
        body=json.dumps({name: {"code": status, "message": message}}).encode(),
    )


class BadLeaseParams(ValueError):
    pass


def lease_request(params_text, server_id=None):
    """The Lease API body for ``lease_params``.

    :raises BadLeaseParams: not JSON, not an object, or without dates.
    """
    if isinstance(params_text, list):
        params_text = params_text[0] if params_text else ""
    if isinstance(params_text, dict):
        params = params_text
    else:
        try:
            params = json.loads(params_text or "")
        except (TypeError, ValueError) as exc:
            raise BadLeaseParams(f"lease_params is not JSON: {exc}")
    if not isinstance(params, dict):
        raise BadLeaseParams("lease_params must be a JSON object")
    missing = [key for key in ("start", "end") if not params.get(key)]
    if missing:
        raise BadLeaseParams(
            f"lease_params needs {' and '.join(missing)} (dates, or "
            '"now" for start)'
        )
    body = {
        "name": params.get("name") or f"server-{server_id or 'lease'}",
        "start_date": params["start"],
        "end_date": params["end"],
        "reservations": [
            {"resource_type": "virtual:instance", "server_id": server_id}
        ],
    }
    for key in ("before_end", "before_end_date", "on_end"):
        if key in params:
            if key == "on_end":
                body["reservations"][0]["on_end"] = params[key]
            else:
                body[key] = params[key]
    return body


class ReservedBootFilter:
    """The filter; see the module's doc."""

    def __init__(self, app, climate_url, wait_seconds=120, timeout=60):
        self.app = app
        self.climate_url = climate_url.rstrip("/")
        self.wait_seconds = wait_seconds
        self.timeout = timeout

    @webob.dec.wsgify
    def __call__(self, request):
        if request.method != "POST" or not request.path_info.rstrip(
            "/"
        ).endswith("/servers"):
            return request.get_response(self.app)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return request.get_response(self.app)
        hints = None
        if isinstance(body, dict):
            for key in _HINT_KEYS:
                if isinstance(body.get(key), dict):
                    hints = body[key]
        if not hints or not _is_true(hints.get("reserved")):
            return request.get_response(self.app)
        try:
            lease_request(hints.get("lease_params"))
        except BadLeaseParams as exc:
            return _fault(400, str(exc))
        params = hints.get("lease_params")
        hints.pop("reserved", None)
        hints.pop("lease_params", None)
        request.body = json.dumps(body).encode()
        answer = request.get_response(self.app)
        if answer.status_int != 202:
            return answer
        server_id = answer.json["server"]["id"]
        self._wait_settled(request, server_id)
        lease_body = lease_request(params, server_id)
        try:
            created = requests.post(
                f"{self.climate_url}/v1/leases",
                json=lease_body,
                headers={
                    h: request.headers[h]
                    for h in _IDENTITY
                    if h in request.headers
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            self._delete(request, server_id)
            return _fault(503, f"the Lease API could not be reached: {exc}")
        if created.status_code not in (200, 201):
            self._delete(request, server_id)
            return _fault(created.status_code, _message(created))
        answer.headers[LEASE_HEADER] = created.json()["lease"]["id"]
        return answer

    def _server_request(self, request, method, server_id):
        sub = webob.Request.blank(
            f"{request.path_info.rstrip('/')}/{server_id}", method=method
        )
        sub.script_name = request.script_name
        sub.environ.update(
            {
                k: v
                for k, v in request.environ.items()
                if k.startswith("HTTP_")
                or k.startswith("nova.")
                or k.startswith("keystone.")
                or k == "openstack.request_id"
            }
        )
        sub.headers.pop("Content-Length", None)
        sub.headers.pop("Content-Type", None)
        return sub.get_response(self.app)

    def _wait_settled(self, request, server_id):
        """Wait until the server is ACTIVE (or ERROR): the plugin shelves
        it, which Nova refuses while it builds."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            shown = self._server_request(request, "GET", server_id)
            if shown.status_int != 200:
                return
            if shown.json["server"]["status"] in _SETTLED:
                return
            time.sleep(0.5)

    def _delete(self, request, server_id):
        self._server_request(request, "DELETE", server_id)


def _is_true(value):
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _message(response):
    try:
        body = response.json()
    except ValueError:
        return response.text[:400]
    if isinstance(body, dict):
        for key in ("error_message", "message", "description"):
            if isinstance(body.get(key), str):
                return body[key]
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return value["message"]
    return str(body)[:400]
