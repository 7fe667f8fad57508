"""Compute drivers, loaded from the ``climate.compute.drivers`` group."""

from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from climate import exceptions

NAMESPACE = "climate.compute.drivers"


def load(name):
    """Load and return the compute driver called ``name``.

    :raises ConfigurationError: no such driver is installed, or the
        driver's own configuration is missing or wrong.
    """
    try:
        manager = stevedore_driver.DriverManager(
            NAMESPACE,
            name,
            invoke_on_load=True,
            on_load_failure_callback=_reraise,
        )
    except stevedore_exception.NoMatches:
        raise exceptions.ConfigurationError(
            reason=f"[compute] driver is {name!r}, which is not installed"
        )
    return manager.driver


def _reraise(manager, entry_point, error):
    # Without this stevedore logs the driver's own error (missing
    # credentials, say) and reports the driver as not installed.
    raise error
