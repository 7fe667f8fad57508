"""``climate-manager``: the manager alone, serving RPC from the broker."""

import sys

from climate import exceptions
from climate.cmd import common
from climate.manager import service


def main():
    common.prepare()
    common.require_broker("climate-manager")
    try:
        manager = service.ManagerService()
    except exceptions.ConfigurationError as exc:
        sys.exit(f"climate-manager cannot start: {exc.message}")
    manager.start()
    try:
        common.wait_for_signal()
    finally:
        manager.stop()
