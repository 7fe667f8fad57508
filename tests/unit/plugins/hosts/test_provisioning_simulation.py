"""Leases with images replayed on a virtual clock through the real lease
manager, physical:host plugin, event runner and database, with the
``simulated`` driver's random load times (+-30 %) and random retry and
fatal failures.

Checks the invariants of preparation: every lease's hosts are ready at its
start or its reservation is marked missing resources; no host is loaded
for a lease before it holds the host; no host is prepared for two leases
at once; no host is allocated twice at once.  The replay is
``bench/provisioning.py``'s ``Lab``.

A short replay runs with the quick tests; the one of thousands of leases
takes minutes on this machine, so it is marked ``services`` and runs with
the long tests (``./run_tests.sh``, CI).
"""

import pytest

from bench import provisioning as bench


def _lab(config, seed, hosts=16):
    def set_option(name, value, group):
        config.config(**{name: value}, group=group)

    return bench.Lab(
        set_option,
        hosts=hosts,
        noise=0.3,
        retry_rate=0.05,
        fatal_rate=0.02,
        login_rate=0.5,
        lanes=4,
        seed=seed,
        hours=(1, 1, 2, 3),
        counts=(1, 1, 2),
    )


def _check(report, requested):
    assert report.created + report.refused == requested
    assert report.created >= requested // 2
    assert report.with_image >= 0.8 * report.created
    assert report.violations == []
    timed = report.with_image - report.too_close
    assert report.on_time + report.missing == timed
    # The failures drawn make some late, but most are ready in time.
    assert report.on_time >= 0.7 * timed
    assert report.skipped > 0
    assert report.sanitized > 0 and report.reloaded > 0


def test_a_day_of_leases_keeps_the_invariants(database, config):
    report = _lab(config, seed=7).replay(days=1, leases_per_day=80)
    _check(report, 80)


@pytest.mark.services
def test_thousands_of_leases_keep_the_invariants(database, config):
    lab = _lab(config, seed=20311, hosts=32)
    report = lab.replay(days=10, leases_per_day=200)
    _check(report, 2000)
