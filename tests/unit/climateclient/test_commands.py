"""The commands' own options: parsing, defaults, exclusive groups and
blazar's flag names."""

import pytest

from climateclient.cli import allocations, common, hosts, leases


def parse(command_class, *argv):
    parser = command_class(None, None).get_parser("climate test")
    return parser.parse_args(list(argv))


def refused(command_class, *argv):
    with pytest.raises(SystemExit) as exit_info:
        parse(command_class, *argv)
    return exit_info.value.code


# lease create ---------------------------------------------------------------


def test_create_defaults_start_now_and_leaves_the_end_open():
    args = parse(leases.CreateLease, "tour")

    assert args.name == "tour"
    assert args.start_date == "now"
    assert args.end_date is None
    assert args.duration is None
    assert args.reservations == []
    assert args.physical_reservations == []
    assert not args.wait
    assert args.timeout is None


def test_create_with_reservations_of_both_spellings():
    args = parse(
        leases.CreateLease,
        "gpus",
        "--start-date",
        "2030-01-01 10:00",
        "--duration",
        "2h",
        "--reservation",
        'resource_type=physical:host,min=1,max=2,resource_properties=["==",'
        '"$gpu","a100"]',
        "--physical-reservation",
        "min=1,max=1,hypervisor_properties=,resource_properties=",
        "--reservation",
        "resource_type=test:recorder",
        "--wait",
        "--timeout",
        "30",
    )

    assert args.start_date == "2030-01-01 10:00"
    assert args.duration == "2h"
    assert [r["resource_type"] for r in args.reservations] == [
        "physical:host",
        "test:recorder",
    ]
    assert args.reservations[0]["resource_properties"] == (
        '["==","$gpu","a100"]'
    )
    assert args.physical_reservations == [
        {
            "resource_type": "physical:host",
            "min": 1,
            "max": 1,
            "hypervisor_properties": "",
            "resource_properties": "",
        }
    ]
    assert args.wait
    assert args.timeout == 30.0


def test_create_end_date_and_duration_exclude_each_other(capsys):
    code = refused(
        leases.CreateLease,
        "x",
        "--end-date",
        "2030-01-01 00:00",
        "--duration",
        "1h",
    )

    assert code == 2
    assert "not allowed with argument --end-date" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "2 hours"], "invalid duration '2 hours'"),
        (["--reservation", "min=1"], "needs resource_type="),
        (["--reservation", 'resource_type=x,q=["a"'], "missing ']'"),
        (["--physical-reservation", "min=1,count=2"], "unknown field"),
        (["--timeout", "soon"], "invalid float value"),
    ],
)
def test_create_says_what_is_wrong(capsys, argv, message):
    assert refused(leases.CreateLease, "x", *argv) == 2
    assert message in capsys.readouterr().err


def test_create_accepts_blazar_events_for_the_server_to_refuse():
    args = parse(
        leases.CreateLease,
        "x",
        "--event",
        "event_type=notification,event_date=2030-01-01 00:00",
    )

    assert args.events == [
        {"event_type": "notification", "event_date": "2030-01-01 00:00"}
    ]


# lease set ------------------------------------------------------------------


def test_set_shifts_and_renames():
    args = parse(
        leases.SetLease,
        "tour",
        "--name",
        "tour2",
        "--prolong-for",
        "1d",
        "--defer-by",
        "30m",
        "--reservation",
        "id=r1,max=3",
    )

    assert args.lease == "tour"
    assert args.name == "tour2"
    assert args.prolong_for == "1d"
    assert args.defer_by == "30m"
    assert args.reservations == [{"id": "r1", "max": 3}]


def test_set_accepts_blazars_underscored_prolong_for():
    assert parse(leases.SetLease, "x", "--prolong_for", "2h").prolong_for == (
        "2h"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--end-date", "2030-01-01 00:00", "--prolong-for", "1d"],
        ["--prolong-for", "1d", "--reduce-by", "2h"],
        ["--end-date", "2030-01-01 00:00", "--reduce-by", "2h"],
        ["--start-date", "now", "--defer-by", "1h"],
        ["--defer-by", "1h", "--advance-by", "1h"],
    ],
)
def test_set_moves_each_end_of_the_window_one_way_only(capsys, argv):
    assert refused(leases.SetLease, "x", *argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_set_may_move_both_ends():
    args = parse(
        leases.SetLease, "x", "--reduce-by", "1h", "--advance-by", "2h"
    )

    assert (args.reduce_by, args.advance_by) == ("1h", "2h")


def test_set_refuses_a_bad_duration(capsys):
    assert refused(leases.SetLease, "x", "--reduce-by", "soon") == 2
    assert "invalid duration 'soon'" in capsys.readouterr().err


def test_reservation_id_is_taken_from_a_lease_with_one_reservation():
    lease = {"name": "x", "reservations": [{"id": "r1"}]}

    assert leases._with_reservation_id(lease, {"max": 2}) == {
        "id": "r1",
        "max": 2,
    }
    assert leases._with_reservation_id(lease, {"id": "r9", "max": 2}) == {
        "id": "r9",
        "max": 2,
    }


def test_reservation_id_is_needed_when_the_lease_has_several():
    lease = {"name": "x", "reservations": [{"id": "r1"}, {"id": "r2"}]}

    with pytest.raises(common.CommandError, match=r"2 reservations \(r1, r2"):
        leases._with_reservation_id(lease, {"max": 2})


def test_delete_takes_several_leases():
    assert parse(leases.DeleteLease, "a", "b").leases == ["a", "b"]
    assert refused(leases.DeleteLease) == 2


def test_list_filters():
    args = parse(
        leases.ListLeases,
        "--status",
        "active",
        "--name",
        "x",
        "--limit",
        "5",
        "--long",
        "--sort-by",
        "name",
    )

    assert (args.status, args.name, args.limit) == ("active", "x", 5)
    assert args.long
    assert args.sort_by == "name"


# hosts ----------------------------------------------------------------------


def test_host_create_with_blazar_extras_and_property_spelling():
    args = parse(
        hosts.CreateHost,
        "node1",
        "--extra",
        "gpu=a100",
        "--property",
        "vcpus=32",
        "--extra",
        'query=["==","$a","b"]',
    )

    assert args.name == "node1"
    assert dict(args.extra) == {
        "gpu": "a100",
        "vcpus": "32",
        "query": '["==","$a","b"]',
    }


def test_host_create_refuses_an_extra_without_a_value(capsys):
    assert refused(hosts.CreateHost, "node1", "--extra", "gpu") == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_host_set_and_unset():
    args = parse(
        hosts.SetHost,
        "node1",
        "--extra",
        "rack=r1",
        "--unset",
        "gpu",
        "--not-reservable",
    )

    assert dict(args.extra) == {"rack": "r1"}
    assert args.unset == ["gpu"]
    assert args.reservable is False
    assert parse(hosts.SetHost, "node1").reservable is None
    assert refused(hosts.SetHost, "n", "--reservable", "--not-reservable")


def test_blazar_host_unset_takes_keys():
    args = parse(hosts.UnsetHost, "node1", "--extra", "gpu", "--extra", "a")

    assert args.keys == ["gpu", "a"]
    assert refused(hosts.UnsetHost, "node1") == 2


def test_host_property_set_needs_private_or_public(capsys):
    assert parse(hosts.SetHostProperty, "gpu", "--private").private is True
    assert parse(hosts.SetHostProperty, "gpu", "--public").private is False
    assert refused(hosts.SetHostProperty, "gpu") == 2
    assert refused(hosts.SetHostProperty, "gpu", "--private", "--public")


# allocations ----------------------------------------------------------------


def test_allocation_list_takes_the_resource_type_and_blazar_filters():
    args = parse(
        allocations.ListAllocations,
        "host",
        "--lease-id",
        "l1",
        "--reservation-id",
        "r1",
    )

    assert args.resource_type == "host"
    assert args.lease == "l1"
    assert args.reservation_id == "r1"


def test_allocation_show_knows_only_hosts(capsys):
    args = parse(allocations.ShowAllocation, "host", "node1", "--lease", "x")

    assert (args.resource, args.lease) == ("node1", "x")
    assert refused(allocations.ShowAllocation, "network", "n1") == 2
    assert "invalid choice: 'network'" in capsys.readouterr().err


def test_create_best_effort_options():
    args = parse(
        leases.CreateLease,
        "batch",
        "--best-effort",
        "--duration",
        "4h",
        "--not-before",
        "2030-01-01 10:00",
        "--requeue",
    )
    assert args.best_effort and args.requeue
    assert (args.duration, args.not_before) == ("4h", "2030-01-01 10:00")
    assert leases._best_effort_fields(args) == {
        "kind": "best_effort",
        "duration": "4h",
        "start_date": "2030-01-01 10:00",
        "end_date": None,
        "requeue": True,
    }


def test_best_effort_and_preemptible_exclude_each_other(capsys):
    assert refused(leases.CreateLease, "x", "--best-effort", "--preemptible")


def test_show_wait_options():
    args = parse(leases.ShowLease, "batch", "--wait", "--timeout", "5")
    assert args.wait and args.timeout == 5.0
