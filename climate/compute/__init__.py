"""Compute drivers, loaded from the ``climate.compute.drivers`` group."""

from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from climate import exceptions

NAMESPACE = "climate.compute.drivers"


def load(name):
    """Load and return the compute driver called ``name``.

    :raises ConfigurationError: no such driver is installed.
    """
    try:
        manager = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=True
        )
    except stevedore_exception.NoMatches:
        raise exceptions.ConfigurationError(
            reason=f"[compute] driver is {name!r}, which is not installed"
        )
    return manager.driver
