"""The ``ironic`` provisioning driver: bare metal through the Bare Metal API.

A host is an Ironic node, named by its name or UUID.  A load sets the
node's ``instance_info.image_source`` to the image's reference (and
``image_checksum`` to its checksum, when it has one) and asks
for the provision state ``active`` (``rebuild`` when the node is active
already, which reloads it), then follows the node until it is active
(ready) or ``deploy failed`` (retry).  A node Ironic does not know, or
one in maintenance, is fatal: trying again would not help.  Each attempt
waits longer than the one before (``[ironic] deploy_timeout`` and
``[provisioning] timeout_growth``); an attempt that times out aborts the
deploy where Ironic allows it and asks for a retry.

Standalone Ironic has no IP address for a node: the address users reach
it at is read from the node's ``extra`` (``[ironic] address_field``)
after every load.  Calls go through one keystoneauth1 adapter on the
manager's own session (``[service_credentials]``; ``auth_type = none``
with ``[ironic] endpoint_override`` for an Ironic without Keystone).
"""

import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, exceptions
from climate.common import service_auth
from climate.provisioning import base

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

TRANSIENT = [500, 502, 503, 504]
#: States a deploy passes through; the load waits while the node is in one.
_BUSY = {
    "deploying",
    "wait call-back",
    "cleaning",
    "clean wait",
    "rebuilding",
    "deleting",
    "inspecting",
}
#: From these the node can be asked for "active" again.
_DEPLOYABLE = {"available", "deploy failed"}


class _Unreachable(Exception):
    pass


class IronicDriver(base.ProvisioningDriver):
    """Loads images on Ironic nodes."""

    name = "ironic"

    def __init__(self, session=None):
        conf = CONF.ironic
        if session is None:
            session = service_auth.get_session()
        if CONF.service_credentials.auth_type == "none" and (
            not conf.endpoint_override
        ):
            raise exceptions.ConfigurationError(
                reason="[ironic] endpoint_override is not set: without "
                "Keystone ([service_credentials] auth_type = none) there "
                "is no catalog to find the Bare Metal API in"
            )
        self._api = ks_adapter.Adapter(
            session=session,
            service_type="baremetal",
            interface=conf.interface,
            region_name=conf.region_name,
            endpoint_override=conf.endpoint_override,
            additional_headers={
                "X-OpenStack-Ironic-API-Version": conf.api_version
            },
            connect_retries=conf.retries,
            status_code_retries=conf.retries,
            retriable_status_codes=TRANSIENT,
            raise_exc=False,
        )

    # Registration -----------------------------------------------------------

    def check_host(self, host):
        try:
            status, _ = self._node(host.name)
        except _Unreachable as exc:
            raise exceptions.ProvisioningUnavailable(
                driver=self.name, reason=str(exc)
            )
        if status == 404:
            raise exceptions.InvalidInput(
                reason=f"provisioning driver ironic: Ironic has no node "
                f"named {host.name!r}"
            )
        if status >= 400:
            raise exceptions.ProvisioningUnavailable(
                driver=self.name, reason=f"GET node answered {status}"
            )

    def address(self, host):
        try:
            status, node = self._node(host.name)
        except _Unreachable:
            return host.address
        if status != 200:
            return host.address
        return (node.get("extra") or {}).get(
            CONF.ironic.address_field, host.address
        )

    # Loading ----------------------------------------------------------------

    def load(self, host, image, attempt):
        began = time.monotonic()
        try:
            outcome = self._load(host, image, attempt)
        except _Unreachable as exc:
            outcome = base.Outcome(base.RETRY, f"Ironic unreachable: {exc}")
        took = time.monotonic() - began
        LOG.info(
            "ironic load of %s on node %s (attempt %d): %s%s in %.1f s",
            image.name,
            host.name,
            attempt,
            outcome.status,
            f" ({outcome.reason})" if outcome.reason else "",
            took,
        )
        return base.Outcome(outcome.status, outcome.reason, took, clock.now())

    def _load(self, host, image, attempt):
        deadline = time.monotonic() + base.timeout(
            CONF.ironic.deploy_timeout, attempt
        )
        node = self._stable_node(host, deadline)
        if isinstance(node, base.Outcome):
            return node
        state = node["provision_state"]
        if state == "active":
            target = "rebuild"
        elif state in _DEPLOYABLE:
            target = "active"
        else:
            return base.Outcome(
                base.FATAL,
                f"node {host.name} is {state!r}; it must be available or "
                "active to be loaded",
            )
        status, body = self._request(
            "PATCH",
            f"/v1/nodes/{host.name}",
            json=[
                {
                    "op": "add",
                    "path": f"/instance_info/{key}",
                    "value": value,
                }
                for key, value in (
                    ("image_source", image.reference),
                    ("image_checksum", image.checksum),
                )
                if value
            ],
        )
        if status >= 400:
            return base.Outcome(
                base.RETRY, f"setting the image answered {status}: {body}"
            )
        status, body = self._request(
            "PUT",
            f"/v1/nodes/{host.name}/states/provision",
            json={"target": target},
        )
        if status >= 400:
            return base.Outcome(
                base.RETRY, f"{target} answered {status}: {body}"
            )
        return self._follow(host, deadline)

    def _stable_node(self, host, deadline):
        """The node once no deploy of an earlier attempt runs on it, or
        the outcome that ends this attempt."""
        while True:
            status, node = self._node(host.name)
            if status == 404:
                return base.Outcome(
                    base.FATAL, f"Ironic has no node {host.name!r}"
                )
            if status >= 400:
                return base.Outcome(base.RETRY, f"GET node answered {status}")
            if node.get("maintenance"):
                return base.Outcome(
                    base.FATAL,
                    f"node {host.name} is in maintenance: "
                    f"{node.get('maintenance_reason') or 'no reason given'}",
                )
            state = node["provision_state"]
            if state not in _BUSY:
                return node
            if state == "wait call-back":
                # An earlier attempt's deploy is stuck waiting for its
                # agent: end it, so this one can start.
                self._request(
                    "PUT",
                    f"/v1/nodes/{host.name}/states/provision",
                    json={"target": "abort"},
                )
            if time.monotonic() >= deadline:
                return base.Outcome(
                    base.RETRY, f"node {host.name} stayed {state!r}"
                )
            time.sleep(CONF.ironic.poll_interval)

    def _follow(self, host, deadline):
        while True:
            time.sleep(CONF.ironic.poll_interval)
            status, node = self._node(host.name)
            if status >= 400:
                return base.Outcome(base.RETRY, f"GET node answered {status}")
            state = node["provision_state"]
            if state == "active" and not node.get("target_provision_state"):
                return base.Outcome(base.READY)
            if state == "deploy failed":
                return base.Outcome(
                    base.RETRY,
                    f"deploy failed: {node.get('last_error') or 'no reason'}",
                )
            if node.get("maintenance"):
                return base.Outcome(
                    base.FATAL, f"node {host.name} went into maintenance"
                )
            if time.monotonic() >= deadline:
                if state == "wait call-back":
                    self._request(
                        "PUT",
                        f"/v1/nodes/{host.name}/states/provision",
                        json={"target": "abort"},
                    )
                return base.Outcome(
                    base.RETRY, f"deploy timed out in state {state!r}"
                )

    # HTTP -------------------------------------------------------------------

    def _node(self, name):
        return self._request("GET", f"/v1/nodes/{name}")

    def _request(self, method, url, **kwargs):
        try:
            response = self._api.request(url, method, **kwargs)
        except (
            ks_exceptions.ConnectionError,
            ks_exceptions.ClientException,
        ) as exc:
            raise _Unreachable(f"{method} {url}: {exc}")
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {"text": response.text[:200]}
        return response.status_code, body
