"""One error handler for the whole API.

Every error answer has the same body, ``{"error_code", "error_message",
"error_name"}``, and never a traceback or SQL: unexpected errors are logged
with the request id and answered with a generic message naming that id.
"""

import flask
import oslo_messaging as messaging
from oslo_log import log as logging
from werkzeug import exceptions as http_exceptions

from climate import exceptions

LOG = logging.getLogger(__name__)


def register(app):
    app.register_error_handler(exceptions.ClimateException, _climate_error)
    app.register_error_handler(http_exceptions.HTTPException, _http_error)
    app.register_error_handler(messaging.MessagingTimeout, _rpc_timeout)
    app.register_error_handler(Exception, _unexpected_error)


def render(code, name, message, **extra):
    response = flask.jsonify(
        error_code=code, error_message=message, error_name=name, **extra
    )
    response.status_code = code
    return response


def _climate_error(error):
    if error.code >= 500:
        LOG.error(
            "request %s failed: %s", flask.g.get("request_id"), error.message
        )
    extra = {
        field: error.kwargs[field]
        for field in error.body_fields
        if error.kwargs.get(field) is not None
    }
    return render(error.code, error.name, error.message, **extra)


_HTTP_NAMES = {413: "RequestTooLarge"}


def _http_error(error):
    name = _HTTP_NAMES.get(error.code) or error.name.replace(" ", "")
    message = error.description
    if error.code == 413:
        # Werkzeug's text does not say what the limit is.
        message = exceptions.RequestTooLarge(
            limit=flask.current_app.config["MAX_CONTENT_LENGTH"]
        ).message
    response = render(error.code, name, message)
    # Keep the headers HTTP requires, such as Allow on a 405.
    for header, value in error.get_headers():
        if header.lower() != "content-type":
            response.headers[header] = value
    return response


def _rpc_timeout(error):
    LOG.error(
        "request %s: the manager did not answer: %s",
        flask.g.get("request_id"),
        error,
    )
    return render(
        503,
        "ServiceUnavailable",
        "The lease manager did not answer in time; try again.",
    )


def _unexpected_error(error):
    request_id = flask.g.get("request_id")
    if isinstance(error, messaging.RemoteError):
        # The manager failed: its traceback, carried in the error, is the
        # one that says why; the API's side is only the RPC call.
        LOG.error(
            "request %s failed in the manager: %s: %s\n%s",
            request_id,
            error.exc_type,
            error.value,
            "".join(error.traceback or ()).rstrip(),
        )
    else:
        LOG.error("request %s failed", request_id, exc_info=error)
    return render(
        500,
        "InternalError",
        f"The server failed to handle request {request_id}; the "
        "operator can find the reason in the logs by that id.",
    )
