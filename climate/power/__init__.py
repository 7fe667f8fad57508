"""Power drivers, loaded by entry point name, and calls bounded in time.

``driver(name)`` gives the ``climate.power.drivers`` entry point ``name``
(``none``, ``redfish``, ``ipmi``), built once per process.  ``call`` runs
one driver method with ``[power] call_timeout`` as its bound, whatever
the driver's library does, so the manager never hangs on a BMC.
``wait_for`` asks for a state and polls until it lands (graceful
shutdown first, forced after ``[power] graceful_timeout``).  See ``base``
for the interface.
"""

import concurrent.futures
import threading
import time

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception
from stevedore import extension

from climate import exceptions
from climate.power.base import (  # noqa: F401
    CRITICAL,
    OFF,
    OK,
    ON,
    WARNING,
    PowerDriver,
    PowerError,
    Target,
)

CONF = cfg.CONF

DRIVERS = "climate.power.drivers"

#: Seconds after which a change not landed yet is asked for again: some
#: BMCs drop a request made while an earlier one is pending.
REQUEST_AGAIN = 15.0

_built = {}
_lock = threading.Lock()
_pool = concurrent.futures.ThreadPoolExecutor(
    16, thread_name_prefix="climate-power"
)


def driver(name):
    """The power driver ``name``, built once.

    :raises InvalidInput: no such driver is installed.
    """
    with _lock:
        if name in _built:
            return _built[name]
        try:
            manager = stevedore_driver.DriverManager(
                DRIVERS, name, invoke_on_load=True
            )
        except stevedore_exception.NoMatches:
            installed = sorted(extension.ExtensionManager(DRIVERS).names())
            raise exceptions.InvalidInput(
                reason=f"unknown power driver {name!r}; installed: "
                f"{', '.join(installed) or 'none'}"
            )
        manager.driver.name = name
        _built[name] = manager.driver
        return manager.driver


def call(power_driver, method, target, *args, timeout=None):
    """``power_driver.method(target, *args)``, given up after ``timeout``
    seconds (default ``[power] call_timeout``).

    :raises PowerError: the call failed or took too long.
    """
    if not power_driver.remote:
        try:
            return getattr(power_driver, method)(target, *args)
        except PowerError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise PowerError(f"{method} of host {target.name} failed: {exc}")
    timeout = CONF.power.call_timeout if timeout is None else timeout
    future = _pool.submit(getattr(power_driver, method), target, *args)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise PowerError(
            f"{method} of host {target.name} took more than {timeout:g} s"
        )
    except PowerError:
        raise
    except Exception as exc:  # noqa: BLE001 (a library's own error)
        raise PowerError(f"{method} of host {target.name} failed: {exc}")


def wait_for(power_driver, target, wanted, timeout, sleep=time.sleep):
    """Ask for ``wanted`` (``ON`` or ``OFF``) and poll until the host
    reports it; a shutdown not landed after ``[power] graceful_timeout``
    is forced.

    :returns: seconds it took.
    :raises PowerError: a call failed, or the state did not land within
        ``timeout`` seconds.
    """
    began = time.monotonic()
    if call(power_driver, "state", target) == wanted:
        return 0.0
    forced = wanted == ON
    asked = None
    while True:
        now = time.monotonic()
        if wanted == OFF and not forced:
            if now - began >= CONF.power.graceful_timeout:
                forced, asked = True, None
        if asked is None or now - asked >= REQUEST_AGAIN:
            if wanted == ON:
                call(power_driver, "power_on", target)
            else:
                call(power_driver, "power_off", target, forced)
            asked = now
        sleep(CONF.power.poll_interval)
        if call(power_driver, "state", target) == wanted:
            return time.monotonic() - began
        if time.monotonic() - began >= timeout:
            raise PowerError(
                f"host {target.name} is not {wanted} {timeout:g} s after "
                "it was asked to be"
            )


def reset():
    """Forget the built drivers (configuration changed)."""
    with _lock:
        _built.clear()
