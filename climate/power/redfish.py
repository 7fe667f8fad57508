"""The ``redfish`` power driver: a host's BMC speaks Redfish (through
``sushy``).

A host's power address is its system's URL, e.g.
``https://bmc.example.org/redfish/v1/Systems/1`` (or ``http://...``): the
service root is the part up to ``/redfish/v1``.  Redirects (a system
named rather than addressed by id) are followed.  Health is the system's
``Status.Health``.
"""

import urllib.parse

from oslo_config import cfg

from climate.power import base

CONF = cfg.CONF

_ROOT = "/redfish/v1"


def _split(address):
    if not address:
        raise base.PowerError("a redfish host needs its system's URL")
    parsed = urllib.parse.urlsplit(address)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise base.PowerError(
            f"{address!r} is not an http(s) URL of a Redfish system"
        )
    path = parsed.path.rstrip("/")
    if not path.startswith(_ROOT + "/Systems/"):
        raise base.PowerError(
            f"{address!r} does not name a system (…{_ROOT}/Systems/<id>)"
        )
    return f"{parsed.scheme}://{parsed.netloc}", path


class RedfishDriver(base.PowerDriver):
    """Power state, on/off and health through a Redfish service."""

    def _system(self, target):
        import sushy

        base_url, path = _split(target.address)
        timeout = CONF.power.call_timeout
        try:
            # Basic auth on each request: no session to open and expire.
            root = sushy.Sushy(
                base_url + _ROOT,
                auth=sushy.auth.BasicAuth(
                    username=target.username, password=target.password
                ),
                server_side_retries=0,
                read_timeout=timeout,
                connect_timeout=timeout,
            )
            return root.get_system(path)
        except sushy.exceptions.AccessError as exc:
            raise base.PowerError(
                f"the Redfish service refused the credentials ({exc.code})"
            ) from exc
        except sushy.exceptions.ResourceNotFoundError as exc:
            raise base.PowerError(
                f"the Redfish service has no system {path}"
            ) from exc
        except sushy.exceptions.SushyError as exc:
            raise base.PowerError(_brief(exc)) from exc

    def _call(self, target, action):
        import sushy

        system = self._system(target)
        try:
            return action(system)
        except sushy.exceptions.SushyError as exc:
            raise base.PowerError(_brief(exc)) from exc

    def check(self, target):
        self.state(target)

    def state(self, target):
        import sushy

        state = self._call(target, lambda s: s.power_state)
        # A change under way has not landed yet.
        if state in (sushy.PowerState.ON, sushy.PowerState.POWERING_OFF):
            return base.ON
        return base.OFF

    def power_on(self, target):
        import sushy

        self._call(target, lambda s: s.reset_system(sushy.ResetType.ON))

    def power_off(self, target, force=False):
        import sushy

        reset = (
            sushy.ResetType.FORCE_OFF
            if force
            else sushy.ResetType.GRACEFUL_SHUTDOWN
        )
        self._call(target, lambda s: s.reset_system(reset))

    def health(self, target):
        import sushy

        status = self._call(target, lambda s: s.status)
        health = getattr(status, "health", None)
        return {
            sushy.Health.OK: base.OK,
            sushy.Health.WARNING: base.WARNING,
            sushy.Health.CRITICAL: base.CRITICAL,
        }.get(health)


def _brief(exc):
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
