"""Climate's one exception hierarchy.

Every error Climate raises on purpose is a ``ClimateException``: it carries an
HTTP status code and a message template filled from keyword arguments.  The
semantic bases (``NotFound``, ``Conflict``, ``Invalid``, ``Forbidden``) decide
the code; a subclass never crosses its base's meaning.

The keyword arguments are kept on the instance (``kwargs``) so that
oslo.messaging can rebuild the same class on the API side of an RPC call.
"""


class ClimateException(Exception):
    """Base of every expected Climate error: a message and an HTTP code."""

    msg_fmt = "An unknown error occurred."
    code = 500
    #: Keyword arguments shown in the API's error body beside the message
    #: (when given and not None).
    body_fields = ()

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        kwargs.setdefault("code", self.code)
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A caller forgot an argument: say what we can rather than
                # hide the real error behind a formatting one.
                message = self.msg_fmt
        super().__init__(message)

    @property
    def message(self):
        # Not str(self): oslo.messaging rebuilds a remote exception as a
        # "<Name>_Remote" subclass whose str() appends the remote traceback.
        return self.args[0] if self.args else self.msg_fmt

    @property
    def name(self):
        """The class name, the same on both sides of an RPC call."""
        for klass in type(self).__mro__:
            if not klass.__name__.endswith("_Remote"):
                return klass.__name__
        return type(self).__name__


class Invalid(ClimateException):
    msg_fmt = "Invalid input: %(reason)s"
    code = 400


class InvalidInput(Invalid):
    msg_fmt = "%(reason)s"


class InvalidDate(Invalid):
    msg_fmt = (
        "Invalid %(field)s %(value)r: expected 'now', 'YYYY-MM-DD HH:MM' "
        "(UTC) or an ISO 8601 date and time"
    )


class InvalidPeriod(Invalid):
    msg_fmt = "%(reason)s"


class UnsupportedResourceType(Invalid):
    msg_fmt = (
        "Unknown resource_type %(resource_type)r; this service supports: "
        "%(supported)s"
    )


class NotSupported(Invalid):
    """A resource type whose plugin does not answer a question."""

    msg_fmt = "%(what)s is not supported for resource type %(resource_type)s"


class ProvisioningUnavailable(Invalid):
    """A host's provisioning driver could not be reached."""

    msg_fmt = "Provisioning driver %(driver)s cannot be reached: %(reason)s"


class PowerUnavailable(Invalid):
    """A host's power driver could not reach its BMC, or was refused."""

    msg_fmt = "Power driver %(driver)s cannot manage host %(host)s: %(reason)s"


class MalformedRequestBody(Invalid):
    msg_fmt = "Malformed request body: %(reason)s"


class InvalidMarker(Invalid):
    msg_fmt = "Marker %(marker)s does not name a lease in this listing"


class NotAuthenticated(ClimateException):
    msg_fmt = "Authentication required"
    code = 401


class Forbidden(ClimateException):
    msg_fmt = "Not allowed: %(reason)s"
    code = 403


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy does not allow %(action)s to be performed"

    def __init__(self, message=None, **kwargs):
        if message is None and kwargs.get("requires") and "action" in kwargs:
            message = (
                f"{self.msg_fmt % kwargs}; it requires {kwargs['requires']}"
            )
        super().__init__(message, **kwargs)


class UsageNotAllowed(Forbidden):
    """A usage enforcement filter refused a lease create or update."""

    msg_fmt = "%(reason)s"


class MaxLeaseDurationExceeded(UsageNotAllowed):
    msg_fmt = (
        "The lease would last %(duration)s, more than the %(limit)s "
        "this project may hold a lease for"
    )


class ExtensionNotAllowed(UsageNotAllowed):
    pass


class ProjectLimitExceeded(UsageNotAllowed):
    pass


class ExternalServiceDenied(UsageNotAllowed):
    """The operator's usage service answered 403; its message is ours."""


class NotFound(ClimateException):
    msg_fmt = "%(object)s %(id)s could not be found"
    code = 404


class LeaseNotFound(NotFound):
    msg_fmt = "Lease %(id)s could not be found"


class ReservationNotFound(NotFound):
    msg_fmt = "Reservation %(id)s could not be found"


class EventNotFound(NotFound):
    msg_fmt = "Event %(id)s could not be found"


class HostNotFound(NotFound):
    msg_fmt = "Host %(id)s could not be found"


class HostPropertyNotFound(NotFound):
    msg_fmt = "No host has a property named %(name)r"


class HypervisorNotFound(HostNotFound):
    msg_fmt = "Nova has no hypervisor named %(name)r"


class HostPoolNotFound(NotFound):
    msg_fmt = "Host pool %(name)s could not be found"


class ImageNotFound(NotFound):
    msg_fmt = "Image %(id)s could not be found"


class BlockNotFound(NotFound):
    msg_fmt = "Block allocation %(id)s could not be found"


class FeatureNotEnabled(NotFound):
    msg_fmt = "%(feature)s: %(reason)s"


class Conflict(ClimateException):
    msg_fmt = "Conflict: %(reason)s"
    code = 409


class LeaseNameAlreadyExists(Conflict):
    msg_fmt = "A lease named %(name)r already exists in this project"


class InvalidState(Conflict):
    msg_fmt = "%(reason)s"


class NotReady(Conflict):
    """A hook's resources are on their way (a host still booting): the
    event runner puts the event off by ``retry_after`` seconds (kwarg)
    without counting an attempt."""

    msg_fmt = "Not ready yet: %(reason)s"


class InvalidStateTransition(InvalidState):
    msg_fmt = "%(kind)s %(id)s is %(current)s and cannot become %(target)s now"


class LeaseBusy(InvalidState):
    """A stage is working on the lease; one operation at a time."""

    msg_fmt = (
        "Lease %(id)s is %(status)s; it can be changed once that is over, "
        "in a few seconds"
    )


class HostAlreadyExists(Conflict):
    msg_fmt = "A host named %(name)r is already registered"


class HostInUse(Conflict):
    msg_fmt = "%(reason)s"


class ImageInUse(Conflict):
    msg_fmt = "%(reason)s"


class ImageAlreadyExists(Conflict):
    msg_fmt = "An image named %(name)r already exists"


class ConcurrentUpdate(Conflict):
    msg_fmt = (
        "The request kept meeting concurrent changes to the same "
        "resources; try it again"
    )


class NotEnoughResourcesAvailable(Conflict):
    """Carries, when Climate found one, the next window in which the same
    request would be granted (``next_available``: ``{"start_date",
    "end_date"}``), shown beside the message."""

    msg_fmt = "Not enough resources available: %(reason)s"
    body_fields = ("next_available",)


class RequestTooLarge(ClimateException):
    msg_fmt = "Request body is larger than the limit of %(limit)d bytes"
    code = 413


class ExternalServiceUnavailable(ClimateException):
    msg_fmt = (
        "The usage enforcement service could not check this request; "
        "nothing was changed.  Try again later, or ask the operator."
    )
    code = 503


class ServiceUnavailable(ClimateException):
    """A service Climate depends on cannot be reached: answered 503 with
    a ``Retry-After`` of ``retry_after`` seconds."""

    msg_fmt = "%(reason)s"
    code = 503
    retry_after = 2


class BrokerUnavailable(ServiceUnavailable):
    """The request could not be sent: the message broker is unreachable."""

    msg_fmt = (
        "The message broker (%(broker)s) is unreachable, so the lease "
        "manager cannot be asked; nothing was changed.  Retry in a few "
        "seconds."
    )


class ManagerTimeout(ServiceUnavailable):
    """A write was sent, but its answer did not come back in time: its
    fate is unknown."""

    msg_fmt = (
        "The lease manager did not answer within %(timeout)s seconds (the "
        "message broker or the manager may be down); the change may have "
        "been made.  Retry with the same Idempotency-Key header to get its "
        "result without making it twice%(advice)s."
    )


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached."""

    msg_fmt = (
        "The database is unreachable; nothing was changed.  Retry in a "
        "few seconds."
    )


class TooManyWrites(ServiceUnavailable):
    """Every slot the API keeps for writes is taken by a write waiting
    for the manager."""

    msg_fmt = (
        "%(count)d changes are already waiting for the lease manager; "
        "nothing was changed.  Retry in a few seconds."
    )
    retry_after = 1


class IdempotencyKeyReused(ClimateException):
    """An Idempotency-Key came back with another request."""

    msg_fmt = (
        "Idempotency-Key %(key)r was already used by this project for "
        "another request (%(first)s); send a new key for a new request"
    )
    code = 422


class IdempotentRequestInProgress(Conflict):
    """A request with this Idempotency-Key is being handled right now."""

    msg_fmt = (
        "A request with Idempotency-Key %(key)r is being handled right "
        "now; retry in a moment to get its result"
    )


class ComputeError(ClimateException):
    """Nova refused or failed a call in a way Climate did not expect."""

    msg_fmt = "Compute service error: %(reason)s"
    code = 502


class ComputeUnavailable(ComputeError):
    """Nova could not be reached, or kept answering 5xx, after retries."""

    msg_fmt = "Compute service unavailable: %(reason)s"
    code = 503


class HookTimeout(ClimateException):
    """A plugin hook ran past ``[manager] hook_timeout``."""

    msg_fmt = "%(hook)s did not finish within %(timeout)s seconds"
    code = 504


class ConfigurationError(ClimateException):
    """Raised at start-up when the configuration cannot work."""

    msg_fmt = "%(reason)s"
