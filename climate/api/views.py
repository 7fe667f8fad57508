"""Objects as the API shows them (the wire format of the reservation API
v1).  Leases are rendered by ``climate.common.views``, which the manager's
notifications share; a resource plugin renders its own objects in its
``api`` package."""

from climate.common.views import (  # noqa: F401  (re-exported)
    common_fields,
    event,
    lease,
    reservation,
)
