"""Provisioning drivers and OS modules, loaded by entry point name.

``driver(name)`` gives the ``climate.provisioning.drivers`` entry point
``name`` (``ironic``, ``simulated``), ``os_module(name)`` the
``climate.os_modules`` one (``ssh``, ``none``, ``simulated``); each is
built once per process.  ``load_slots(driver_name)`` is the semaphore
that keeps at most ``[provisioning] max_concurrent_loads`` loads of one
driver running at once in this process.  See ``base`` for the interfaces.
"""

import threading

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception
from stevedore import extension

from climate import exceptions
from climate.provisioning.base import (  # noqa: F401
    FATAL,
    READY,
    RETRY,
    Host,
    Image,
    Outcome,
)

CONF = cfg.CONF

DRIVERS = "climate.provisioning.drivers"
OS_MODULES = "climate.os_modules"

_built = {}
_slots = {}
_lock = threading.Lock()


def _load(namespace, name, what):
    key = (namespace, name)
    with _lock:
        if key in _built:
            return _built[key]
        try:
            manager = stevedore_driver.DriverManager(
                namespace,
                name,
                invoke_on_load=True,
                on_load_failure_callback=_reraise,
            )
        except stevedore_exception.NoMatches:
            installed = sorted(extension.ExtensionManager(namespace).names())
            raise exceptions.InvalidInput(
                reason=f"unknown {what} {name!r}; installed: "
                f"{', '.join(installed) or 'none'}"
            )
        manager.driver.name = name
        _built[key] = manager.driver
        return manager.driver


def _reraise(manager, entry_point, error):
    raise error


def driver(name):
    """The provisioning driver ``name``, built once.

    :raises InvalidInput: no such driver is installed.
    """
    return _load(DRIVERS, name, "provisioning driver")


def os_module(name):
    """The OS module ``name``, built once.

    :raises InvalidInput: no such module is installed.
    """
    return _load(OS_MODULES, name, "OS module")


def load_slots(driver_name):
    """The semaphore bounding this process's concurrent loads of a driver."""
    with _lock:
        slots = _slots.get(driver_name)
        if slots is None:
            slots = threading.BoundedSemaphore(
                CONF.provisioning.max_concurrent_loads
            )
            _slots[driver_name] = slots
        return slots


def reset():
    """Forget the built drivers and semaphores (configuration changed)."""
    with _lock:
        _built.clear()
        _slots.clear()
