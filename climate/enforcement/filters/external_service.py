"""``external_service``: the operator's own HTTP service decides.

For each lease create or update the manager POSTs JSON to
``[enforcement] external_service_url`` + ``/check-create`` or
``/check-update``, and when a lease ends or is deleted to ``/on-end``::

    {"context": {"user_id": ..., "project_id": ..., "roles": [...],
                 "request_id": ...},
     "lease": <the lease as the API shows it>,
     "current_lease": <before the update; check-update only>}

204 (any 2xx) allows; 403 refuses, and the tenant gets 403 with the
``message`` of the answer's JSON body.  Anything else, or no answer within
``external_service_timeout``, refuses with 503 (or, with
``external_service_fail_closed = False``, lets the lease through with a
warning in the log).
"""

import requests
from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions
from climate.common import views
from climate.enforcement import base

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

_DEFAULT_REFUSAL = "The usage service refused this lease"


class ExternalServiceFilter(base.UsageFilter):
    """Asks the operator's usage service about every lease change.

    :raises ConfigurationError: from the constructor, without
        ``[enforcement] external_service_url``.
    """

    def __init__(self):
        if not CONF.enforcement.external_service_url:
            raise exceptions.ConfigurationError(
                reason="[enforcement] enabled_filters has external_service "
                "but [enforcement] external_service_url is not set"
            )
        self._http = requests.Session()

    @property
    def _base_url(self):
        return CONF.enforcement.external_service_url.rstrip("/")

    def check(self, context, lease, current=None):
        body = {"context": _context(context), "lease": views.lease(lease)}
        endpoint = "check-create"
        if current is not None:
            endpoint = "check-update"
            body["current_lease"] = views.lease(current)
        try:
            response = self._post(endpoint, body)
        except requests.RequestException as exc:
            self._cannot_decide(endpoint, lease, f"no answer: {exc}")
            return
        if 200 <= response.status_code < 300:
            return
        if response.status_code == 403:
            raise exceptions.ExternalServiceDenied(reason=_message(response))
        self._cannot_decide(
            endpoint,
            lease,
            f"answered {response.status_code}: {response.text[:200]!r}",
        )

    def on_end(self, context, lease):
        body = {"context": _context(context), "lease": views.lease(lease)}
        response = self._post("on-end", body)
        if not 200 <= response.status_code < 300:
            LOG.warning(
                "usage service %s/on-end answered %d for lease %s",
                self._base_url,
                response.status_code,
                lease["id"],
            )

    def _post(self, endpoint, body):
        headers = {"Content-Type": "application/json"}
        token = CONF.enforcement.external_service_token
        if token:
            headers["X-Auth-Token"] = token
        return self._http.post(
            f"{self._base_url}/{endpoint}",
            json=body,
            headers=headers,
            timeout=CONF.enforcement.external_service_timeout,
            allow_redirects=False,
        )

    def _cannot_decide(self, endpoint, lease, what):
        # The tenant is told the service could not decide; the operator
        # finds where and why in the log.
        if CONF.enforcement.external_service_fail_closed:
            LOG.error(
                "usage service %s/%s %s; refusing lease %s",
                self._base_url,
                endpoint,
                what,
                lease["id"],
            )
            raise exceptions.ExternalServiceUnavailable()
        LOG.warning(
            "usage service %s/%s %s; letting lease %s through "
            "([enforcement] external_service_fail_closed = False)",
            self._base_url,
            endpoint,
            what,
            lease["id"],
        )


def _context(context):
    return {
        "user_id": context.user_id,
        "project_id": context.project_id,
        "roles": list(context.roles or ()),
        "request_id": context.request_id,
    }


def _message(response):
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str) and message.strip():
        return message.strip()[:1000]
    return _DEFAULT_REFUSAL
