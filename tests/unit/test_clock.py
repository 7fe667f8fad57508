"""The one clock (climate.clock)."""

import datetime
import pathlib
import re
import threading

import pytest

from climate import clock
from climate.common import dates

T0 = datetime.datetime(2031, 5, 6, 7, 8, 9, 123456)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_system_clock_is_naive_utc():
    now = clock.now()
    assert now.tzinfo is None
    utc = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs((utc - now).total_seconds()) < 5


def test_a_virtual_clock_in_use_is_what_everyone_reads():
    with clock.use(clock.VirtualClock(T0)) as virtual:
        assert clock.now() == T0
        assert dates.utcnow() == T0.replace(microsecond=0)
        virtual.advance(90)
        assert clock.now() == T0 + datetime.timedelta(seconds=90)
        virtual.advance(datetime.timedelta(days=1))
        virtual.set(T0 + datetime.timedelta(days=2))
        assert clock.now() == T0 + datetime.timedelta(days=2)
        with pytest.raises(ValueError):
            virtual.set(T0)
    assert clock.now().year != 2031


def test_waiting_on_a_virtual_clock_returns_at_once():
    event = threading.Event()
    virtual = clock.VirtualClock(T0)
    assert virtual.wait(event, 3600) is False
    event.set()
    assert virtual.wait(event, 3600) is True


def test_no_module_reads_the_system_time_but_the_clock():
    """Admission, the runner and periodic work read ``climate.clock``;
    real-time bounds on waits use ``time.monotonic``."""
    pattern = re.compile(
        r"datetime\.(?:datetime\.)?(?:now|utcnow|today)\(|time\.time\("
    )
    offenders = []
    for path in (ROOT / "climate").rglob("*.py"):
        if path.name == "clock.py" and path.parent.name == "climate":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
