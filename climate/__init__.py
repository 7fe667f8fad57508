"""Climate: a lease (advance reservation) service for cloud capacity."""

import warnings

# futurist imports eventlet merely because oslo.service installs it; Climate
# never uses it, so its deprecation notice would only confuse operators.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from oslo_service import backend as _oslo_backend  # noqa: E402

# Climate runs on threads only.  oslo.service must be told so before any other
# oslo library asks it for a backend, or it falls back to eventlet; importing
# the package is the one place every entry point goes through first.
try:
    _oslo_backend.init_backend(_oslo_backend.BackendType.THREADING)
except _oslo_backend.exceptions.BackendAlreadySelected:
    # A tool that imported oslo.service before Climate (oslo-config-generator
    # loading every namespace) chose first.  Climate's own commands import
    # this package before anything else, so they always run on threads.
    pass
