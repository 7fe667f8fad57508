"""The ``none`` power driver: the host is always on."""

from climate.power import base


class NoPower(base.PowerDriver):
    """For hosts Climate does not switch: always on, never powered off."""

    manages_power = False
    remote = False

    def check(self, target):
        return None

    def state(self, target):
        return base.ON

    def power_on(self, target):
        return None

    def power_off(self, target, force=False):
        raise base.PowerError("the none power driver cannot power hosts off")
