"""The errors the Climate client raises.

Every error is a ``ClientException``.  An answer of the server outside 2xx
is an ``HTTPError`` subclass chosen by its status code (``NotFound``,
``Conflict``, ``BadRequest``...), carrying what the server said: its
``error_message``, its ``error_name`` (such as ``LeaseNotFound``), the HTTP
code and the request id, so a caller can tell one failure from another
without parsing strings.
"""


class ClientException(Exception):
    """Base of every error of the Climate client."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ConnectionFailed(ClientException):
    """The service could not be reached (refused, DNS, TLS, timeout)."""


class AuthenticationFailed(ClientException):
    """Keystone refused the credentials, or no auth was configured."""


class NoUniqueMatch(ClientException):
    """A name given for a lease or host names more than one of them."""


class WaitFailed(ClientException):
    """A lease waited for went into ERROR (or disappeared)."""


class WaitTimeout(ClientException):
    """A lease waited for did not start in the time given."""


#: Status code -> the HTTPError subclass for it, filled as each is defined.
_BY_CODE = {}


class HTTPError(ClientException):
    """The server answered with an error status.

    A subclass for one status gives it with its bases, as in
    ``class NotFound(HTTPError, code=404)``: ``from_response`` raises it for
    that code, and its ``default_name`` is its class name unless ``name=``
    says otherwise.

    :ivar code: the HTTP status code.
    :ivar message: the server's ``error_message``.
    :ivar name: the server's ``error_name`` (the class of the error on the
        server, such as ``NotEnoughResourcesAvailable``).
    :ivar request_id: the ``X-OpenStack-Request-Id`` of the answer, for the
        operator's logs; None for errors raised by the client itself.
    """

    code = 500
    default_name = "HTTPError"

    def __init_subclass__(cls, code=None, name=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
            cls.default_name = name or cls.__name__
            _BY_CODE[code] = cls

    #: For a refusal for lack of capacity: the server's next window in
    #: which the same request would be granted (``{"start_date",
    #: "end_date"}``), or None.
    next_available = None

    def __init__(self, message, code=None, name=None, request_id=None):
        # Errors the client finds itself (a name matching no lease) give no
        # code: they are not answers of the server and do not claim to be.
        self.from_server = code is not None
        self.code = code or self.code
        self.name = name or self.default_name
        self.request_id = request_id
        super().__init__(message)

    def __str__(self):
        if not self.from_server:
            return self.message
        text = f"{self.message} (HTTP {self.code} {self.name})"
        if self.next_available:
            text += (
                f"; next available: {self.next_available['start_date']} to "
                f"{self.next_available['end_date']}"
            )
        if self.request_id:
            text += f" (Request-ID: {self.request_id})"
        return text


class BadRequest(HTTPError, code=400):
    """400: the request is invalid (a bad date, field or query)."""


class Unauthorized(HTTPError, code=401):
    """401: no valid token."""


class Forbidden(HTTPError, code=403):
    """403: the policy does not allow it (hosts are admins')."""


class NotFound(HTTPError, code=404):
    """404: no such lease, host, reservation or property."""


class MethodNotAllowed(HTTPError, code=405):
    """405: the path does not take that method."""


class Conflict(HTTPError, code=409):
    """409: not enough capacity, a name taken, a host in use..."""


class RequestEntityTooLarge(HTTPError, code=413, name="RequestTooLarge"):
    """413: the body is over the service's limit."""


class InternalServerError(HTTPError, code=500, name="InternalError"):
    """500: the service failed; see its logs by request id."""


class ServiceUnavailable(HTTPError, code=503):
    """503: the service (or its manager) did not answer."""


def from_response(status_code, body, request_id=None, reason=None):
    """The ``HTTPError`` for an error answer.

    :param body: the decoded JSON body, or the text of a body that was not
        JSON (a proxy's error page), or None.
    :param reason: the HTTP reason phrase, used when the body says nothing.
    """
    message = name = None
    if isinstance(body, dict):
        # Climate's {"error_code", "error_message", "error_name"}; older
        # servers of the reservation API sent only error_message.
        message = body.get("error_message") or body.get("message")
        name = body.get("error_name")
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:300]
    if not message:
        message = reason or f"HTTP error {status_code}"
    cls = _BY_CODE.get(status_code, HTTPError)
    error = cls(
        str(message), code=status_code, name=name, request_id=request_id
    )
    if isinstance(body, dict) and isinstance(body.get("next_available"), dict):
        error.next_available = body["next_available"]
    return error
