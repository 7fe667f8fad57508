"""A reservation's inventory in Placement: the custom resource class
``CUSTOM_RESERVATION_<ID>`` and, per host holding instances of the
reservation, a resource provider nested under the host's compute node
provider with as many units of that class (``nova.NovaCapacity`` says
when).  Every call is idempotent: a retried stage finds what an earlier
attempt made.
"""

import threading
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import token_endpoint
from oslo_config import cfg

from climate import exceptions
from climate.common import service_auth

CONF = cfg.CONF

#: Nested providers (1.14), resource classes by PUT (1.7), a created
#: provider in the answer (1.20).
PLACEMENT_MICROVERSION = "1.26"


def resource_class(reservation_id):
    """The reservation's custom resource class."""
    return "CUSTOM_RESERVATION_" + reservation_id.upper().replace("-", "_")


def provider_name(reservation_id, host):
    """The name of the reservation's provider nested under ``host``."""
    return f"reservation-{reservation_id}-{host}"


class Inventory:
    """Placement, as instance reservations use it.

    :param session: a keystoneauth1 session (default: the manager's
        ``[service_credentials]`` one).
    """

    def __init__(self, session=None):
        self._session = session
        self._built = None

    @property
    def _adapter(self):
        """The Placement adapter, built on first use: a manager whose
        instance reservations never reach Nova needs no [placement]."""
        if self._built is None:
            self._built = self._build_adapter()
        return self._built

    def _build_adapter(self):
        conf = CONF.placement
        session = self._session or service_auth.get_session()
        if CONF.service_credentials.auth_type == "none" and (
            not conf.endpoint_override
        ):
            raise exceptions.ConfigurationError(
                reason="[placement] endpoint_override is not set: without "
                "Keystone ([service_credentials] auth_type = none) there "
                "is no catalog to find the Placement API in"
            )
        headers = dict(conf.additional_headers)
        auth = None
        token = headers.pop("X-Auth-Token", None)
        if token is not None:
            # keystoneauth's "none" plugin sends a token of its own.
            auth = token_endpoint.Token(conf.endpoint_override, token)
        return ks_adapter.Adapter(
            session=session,
            auth=auth,
            service_type="placement",
            interface=conf.interface,
            region_name=conf.region_name,
            endpoint_override=conf.endpoint_override,
            default_microversion=PLACEMENT_MICROVERSION,
            additional_headers=headers,
            connect_retries=CONF.nova.retries,
            status_code_retries=CONF.nova.retries,
            retriable_status_codes=[500, 502, 503, 504],
            raise_exc=False,
        )

    def hold(self, reservation_id, units):
        """Make (or bring up to date) the reservation's class and, per
        host of ``units`` (``{host name: units}``), its nested provider
        with that many units; remove its providers of other hosts (an
        update took the reservation off them).  Returns the class."""
        rc = resource_class(reservation_id)
        self._call("PUT", f"/resource_classes/{rc}")
        for host, total in units.items():
            provider = self._nested_provider(reservation_id, host)
            self._set_inventory(provider, rc, total)
        prefix = len(provider_name(reservation_id, ""))
        for provider in self._providers_of(reservation_id):
            if provider["name"][prefix:] not in units:
                self._delete_provider(provider)
        return rc

    def release(self, reservation_id, timeout, poll):
        """Remove the reservation's providers, waiting up to ``timeout``
        seconds for their allocations to go (Nova frees a deleted
        server's shortly after), then its class."""
        deadline = time.monotonic() + timeout
        for provider in self._providers_of(reservation_id):
            while not self._delete_provider(provider, in_use_ok=True):
                if time.monotonic() >= deadline:
                    raise exceptions.ComputeError(
                        reason=f"resource provider {provider['name']} still "
                        f"has allocations after {timeout} s"
                    )
                time.sleep(poll)
        self._call(
            "DELETE",
            f"/resource_classes/{resource_class(reservation_id)}",
            absent=True,
            conflict_ok=True,
        )

    def _root_provider(self, host):
        answer = self._call(
            "GET", "/resource_providers", params={"name": host}
        )
        for provider in answer.get("resource_providers", []):
            return provider
        raise exceptions.HypervisorNotFound(name=host)

    def _nested_provider(self, reservation_id, host):
        name = provider_name(reservation_id, host)
        answer = self._call(
            "GET", "/resource_providers", params={"name": name}
        )
        for provider in answer.get("resource_providers", []):
            return provider
        root = self._root_provider(host)
        created = self._call(
            "POST",
            "/resource_providers",
            json={"name": name, "parent_provider_uuid": root["uuid"]},
            conflict_ok=True,
        )
        if created is None:  # made at the same time by a retry
            return self._nested_provider(reservation_id, host)
        return created

    def _providers_of(self, reservation_id):
        """The reservation's nested providers: those with inventory of
        its class, and those named after it."""
        prefix = provider_name(reservation_id, "")
        answer = self._call("GET", "/resource_providers")
        return [
            p
            for p in answer.get("resource_providers", [])
            if p["name"].startswith(prefix)
        ]

    def _set_inventory(self, provider, rc, total):
        for _ in range(5):
            generation = self._call(
                "GET", f"/resource_providers/{provider['uuid']}"
            )["generation"]
            body = {
                "resource_provider_generation": generation,
                "inventories": {
                    rc: {
                        "total": total,
                        "max_unit": total,
                        "min_unit": 1,
                        "step_size": 1,
                        "reserved": 0,
                        "allocation_ratio": 1.0,
                    }
                },
            }
            answer = self._call(
                "PUT",
                f"/resource_providers/{provider['uuid']}/inventories",
                json=body,
                conflict_ok=True,
            )
            if answer is not None:
                return
        raise exceptions.ComputeError(
            reason=f"placement kept refusing the inventory of "
            f"{provider['name']}: {self._last_error}"
        )

    def _delete_provider(self, provider, in_use_ok=False):
        """Delete a nested provider; False while it has allocations (with
        ``in_use_ok``)."""
        answer = self._call(
            "DELETE",
            f"/resource_providers/{provider['uuid']}",
            absent=True,
            conflict_ok=in_use_ok,
        )
        return answer is not None or self._last_status == 404

    def _call(self, method, url, absent=False, conflict_ok=False, **kwargs):
        """One Placement call; the JSON body, or None (404 with
        ``absent``, 409 with ``conflict_ok``)."""
        try:
            response = self._adapter.request(url, method, **kwargs)
        except ks_exceptions.ConnectionError as exc:
            raise exceptions.ComputeUnavailable(
                reason=f"placement {method} {url}: {exc}"
            )
        except ks_exceptions.ClientException as exc:
            raise exceptions.ComputeUnavailable(
                reason=f"placement {method} {url}: {type(exc).__name__}: {exc}"
            )
        self._answers.status = response.status_code
        if response.status_code < 400:
            return response.json() if response.content else {}
        self._answers.error = _message(response)
        if (response.status_code == 404 and absent) or (
            response.status_code == 409 and conflict_ok
        ):
            return None
        reason = (
            f"placement {method} {url} answered {response.status_code}: "
            f"{self._last_error}"
        )
        if response.status_code >= 500:
            raise exceptions.ComputeUnavailable(reason=reason)
        raise exceptions.ComputeError(reason=reason)

    # What this thread's last call answered (the event runner's threads
    # share the plugin).
    _answers = threading.local()

    @property
    def _last_status(self):
        return getattr(self._answers, "status", None)

    @property
    def _last_error(self):
        return getattr(self._answers, "error", None)


def _message(response):
    """Placement's error text: {"errors": [{"detail": ...}]}."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(str(e.get("detail", e)) for e in errors)[:400]
    return str(body)[:200]
