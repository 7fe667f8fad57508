"""The Climate (reservation API v1) client.

Two ways to reach the service, one code path (a keystoneauth1 ``Adapter``):

- with Keystone: ``Client(session=keystoneauth1_session)``; the endpoint
  comes from the service catalog (service type ``reservation``);
- without Keystone, for the embedded service (``[api] auth_strategy =
  noauth``): ``Client(endpoint="http://127.0.0.1:1234", project_id=...,
  user_id=..., roles=[...])``; the identity travels as the ``X-Project-Id``,
  ``X-User-Id`` and ``X-Roles`` headers the service trusts in that mode.

Managers return plain dicts (the API's JSON) and raise the errors of
``climateclient.exceptions`` on anything but success.
"""

from typing import Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from climateclient import exceptions
from climateclient.v1 import (
    allocations,
    availability,
    hosts,
    images,
    leases,
)

SERVICE_TYPE = "reservation"
REQUEST_ID_HEADER = "X-OpenStack-Request-Id"
API_PREFIX = "/v1"


class Client:
    """A client of one Climate service.

    :param session: a ``keystoneauth1.session.Session`` (with its auth
        plugin); the endpoint is found in the catalog unless
        ``endpoint`` is given too.
    :param endpoint: the service's URL (``http://host:1234`` or
        ``http://host:1234/v1``).  Without a session, no token is sent and
        the identity goes in headers (noauth mode).
    :param project_id, user_id, roles: the identity headers of noauth mode;
        left out, the service uses its configured defaults.  (A service
        behind Keystone ignores them: its middleware sets these headers
        from the token.)
    :param service_type, interface, region_name: where to look in the
        catalog.
    :param timeout: seconds before a request is given up (no session only).
    """

    def __init__(
        self,
        session: ks_session.Session | None = None,
        endpoint: str | None = None,
        *,
        project_id: str | None = None,
        user_id: str | None = None,
        roles: list[str] | str | None = None,
        service_type: str = SERVICE_TYPE,
        interface: str | None = None,
        region_name: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if session is None and not endpoint:
            raise ValueError(
                "Client needs a keystoneauth1 session or an endpoint"
            )
        if session is None:
            session = ks_session.Session(timeout=timeout)
        self._adapter = ks_adapter.Adapter(
            session,
            service_type=service_type,
            interface=interface,
            region_name=region_name,
            endpoint_override=endpoint or None,
            additional_headers=_identity_headers(project_id, user_id, roles),
            client_name="climateclient",
        )
        self._prefix = None
        self.leases = leases.LeaseManager(self)
        self.hosts = hosts.HostManager(self)
        self.host_properties = hosts.HostPropertyManager(self)
        self.allocations = allocations.AllocationManager(self)
        self.images = images.ImageManager(self)
        self.blocks = images.BlockManager(self)
        self.availability = availability.AvailabilityManager(self)

    # The HTTP plumbing the managers share --------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request to ``/v1`` + ``path``; return the JSON body.

        :returns: the decoded body, or None for an empty one (204).
        :raises climateclient.exceptions.ClientException: on any failure.
        """
        try:
            url = self._api_prefix() + path
            response = self._adapter.request(
                url,
                method,
                json=json,
                params=params,
                raise_exc=False,
                headers={"Accept": "application/json"},
            )
        except ks_exceptions.ClientException as exc:
            raise _from_keystoneauth(exc)
        request_id = response.headers.get(REQUEST_ID_HEADER)
        body = _body(response)
        if response.status_code >= 400:
            raise exceptions.from_response(
                response.status_code, body, request_id, response.reason
            )
        return body

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, json):
        return self.request("POST", path, json=json)

    def put(self, path, json):
        return self.request("PUT", path, json=json)

    def patch(self, path, json):
        return self.request("PATCH", path, json=json)

    def delete(self, path):
        return self.request("DELETE", path)

    def _api_prefix(self):
        """``/v1``, unless the endpoint (from the catalog, as the
        reservation service registers it) already ends with it."""
        if self._prefix is None:
            endpoint = self._adapter.get_endpoint() or ""
            trimmed = endpoint.rstrip("/")
            self._prefix = "" if trimmed.endswith(API_PREFIX) else API_PREFIX
        return self._prefix


def _identity_headers(project_id, user_id, roles):
    headers = {}
    if project_id:
        headers["X-Project-Id"] = project_id
    if user_id:
        headers["X-User-Id"] = user_id
    if roles:
        if not isinstance(roles, str):
            roles = ",".join(roles)
        headers["X-Roles"] = roles
    return headers


def _body(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _from_keystoneauth(exc):
    """Our exception for a keystoneauth1 one (auth, catalog, network)."""
    if isinstance(exc, ks_exceptions.ConnectionError):
        return exceptions.ConnectionFailed(f"Unable to connect: {exc}")
    if isinstance(exc, ks_exceptions.HttpError):
        # Keystone itself answered with an error (wrong password...).
        return exceptions.AuthenticationFailed(
            f"Authentication failed: {exc.message} (HTTP {exc.http_status})"
        )
    if isinstance(exc, ks_exceptions.EndpointNotFound):
        return exceptions.ClientException(
            "The service catalog has no reservation endpoint; check the "
            f"region and interface, or give the endpoint ({exc})"
        )
    if isinstance(exc, ks_exceptions.AuthPluginException):
        return exceptions.AuthenticationFailed(
            f"Authentication is not set up: {exc}"
        )
    return exceptions.ClientException(str(exc))
