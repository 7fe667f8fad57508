"""The best-effort queue's policies, loaded through entry points.

A policy is a small class chosen in ``[queue]``: the order in which
queued leases are tried (``climate.queue.orders``) and which leases may
preempt which (``climate.queue.preemption``).  The scheduler that
uses them is ``climate.manager.queue``.
"""

from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from climate import exceptions

ORDERS = "climate.queue.orders"


def load_order(name):
    """The queue order called ``name``, built.

    :raises ConfigurationError: no such order is installed.
    """
    try:
        manager = stevedore_driver.DriverManager(
            ORDERS, name, invoke_on_load=True
        )
    except stevedore_exception.NoMatches:
        raise exceptions.ConfigurationError(
            reason=f"[queue] order is {name!r}, which is not installed "
            f"(entry point group {ORDERS})"
        )
    return manager.driver


PREEMPTION = "climate.queue.preemption"


def load_preemption(name):
    """The preemption policy called ``name``, built.

    :raises ConfigurationError: no such policy is installed.
    """
    try:
        manager = stevedore_driver.DriverManager(
            PREEMPTION, name, invoke_on_load=True
        )
    except stevedore_exception.NoMatches:
        raise exceptions.ConfigurationError(
            reason=f"[queue] preemption is {name!r}, which is not installed "
            f"(entry point group {PREEMPTION})"
        )
    return manager.driver
