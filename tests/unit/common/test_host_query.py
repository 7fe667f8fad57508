"""The host query language: parsing (climate.common.host_query) and what a
parsed query matches on the real database (``host_db.host_ids_matching``)."""

import json
import random
import string
import warnings

import pytest

from climate import exceptions
from climate.common import host_query
from climate.db import api as db_api
from climate.plugins.hosts.db import api as host_db

FIELD = "resource_properties"


def parse(query):
    return host_query.parse(
        query if isinstance(query, str) else json.dumps(query), FIELD
    )


def invalid(query):
    """Parse a query that must be refused; return the message."""
    with pytest.raises(exceptions.InvalidInput) as info:
        parse(query)
    assert info.value.code == 400
    message = info.value.message
    assert message.startswith(f"{FIELD}: "), message
    return message


# Parsing -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_each_comparison_parses(op):
    tree = parse([op, "$memory_mb", "4096"])
    assert tree == host_query.Comparison(op, "memory_mb", "4096", 4096.0)


def test_single_equals_is_an_alias_of_double_equals():
    assert parse(["=", "$gpu", "a100"]) == parse(["==", "$gpu", "a100"])


def test_a_value_that_is_not_a_number_has_no_number():
    tree = parse(["==", "$gpu", "a100"])
    assert tree.value == "a100"
    assert tree.number is None


@pytest.mark.parametrize(
    ("literal", "value", "number"),
    [
        (4, "4", 4.0),
        (2.5, "2.5", 2.5),
        ("-3", "-3", -3.0),
        ("1e3", "1e3", 1000.0),
        ("", "", None),
        ("10 GB", "10 GB", None),
    ],
)
def test_values_are_kept_as_text_with_their_number(literal, value, number):
    tree = parse(["<=", "$x", literal])
    assert (tree.value, tree.number) == (value, number)


def test_parse_takes_an_already_decoded_list():
    assert host_query.parse([">=", "$vcpus", "4"], FIELD) == parse(
        [">=", "$vcpus", "4"]
    )


@pytest.mark.parametrize("empty", [None, "", "   ", "[]", []])
def test_an_empty_query_is_none(empty):
    assert host_query.parse(empty, FIELD) is None


def test_logical_operators_nest():
    tree = parse(
        [
            "and",
            [">=", "$vcpus", "4"],
            ["or", ["==", "$gpu", "a100"], ["not", ["<", "$rack", "3"]]],
        ]
    )
    assert tree == host_query.Logical(
        "and",
        (
            host_query.Comparison(">=", "vcpus", "4", 4.0),
            host_query.Logical(
                "or",
                (
                    host_query.Comparison("==", "gpu", "a100", None),
                    host_query.Logical(
                        "not",
                        (host_query.Comparison("<", "rack", "3", 3.0),),
                    ),
                ),
            ),
        ),
    )
    assert host_query.fields(tree) == {"vcpus", "gpu", "rack"}


def test_fields_of_no_query_is_empty():
    assert host_query.fields(None) == set()


def test_and_with_a_single_query_is_fine():
    tree = parse(["and", ["==", "$a", "1"]])
    assert tree.op == "and"
    assert len(tree.operands) == 1


@pytest.mark.parametrize(
    ("query", "fragments"),
    [
        ('["==", "$vcpus", "4"', ["not valid JSON"]),
        ("vcpus >= 4", ["not valid JSON"]),
        ('{"==": ["$vcpus", "4"]}', ["expected a list", '["==", "$vcpus"']),
        ('"==  $vcpus 4"', ["expected a list"]),
        ("4", ["expected a list"]),
        ("null", ["expected a list"]),
        ('[4, "$vcpus", "4"]', ["operator must be a string"]),
        ('[["==", "$a", "1"]]', ["operator must be a string"]),
        ('["~=", "$vcpus", "4"]', ["unknown operator '~='", "==, !="]),
        ('["in", "$gpu", "a100"]', ["unknown operator 'in'", "and, or, not"]),
        ('["AND", ["==", "$a", "1"]]', ["unknown operator 'AND'"]),
        ('["==", "$vcpus"]', ["'==' takes a $field and a value"]),
        ('["==", "$vcpus", "4", "5"]', ["takes a $field and a value"]),
        ('[">="]', ["takes a $field and a value"]),
        ('["==", "vcpus", "4"]', ['"vcpus" is not a field', "start with $"]),
        ('["==", "$", "4"]', ['"$" is not a field']),
        ('["==", 4, "4"]', ["4 is not a field"]),
        ('["==", ["$a"], "4"]', ["is not a field"]),
        ('["==", "$gpu", ["a100"]]', ["$gpu must be a string or a number"]),
        ('["==", "$gpu", {"v": 1}]', ["must be a string or a number"]),
        ('["==", "$gpu", null]', ["must be a string or a number"]),
        ('["==", "$gpu", true]', ["must be a string or a number"]),
        ('["not"]', ["'not' takes exactly one query"]),
        (
            '["not", ["==", "$a", "1"], ["==", "$b", "2"]]',
            ["'not' takes exactly one query"],
        ),
        ('["and"]', ["'and' needs at least one query"]),
        ('["or"]', ["'or' needs at least one query"]),
        ('["and", "$a"]', ["expected a list", '"$a"']),
        ('["and", []]', ["expected a list"]),
        ('["or", ["==", "$a", "1"], ["=~", "$b", "2"]]', ["'=~'"]),
        ('["not", ["==", "a", "1"]]', ['"a" is not a field']),
    ],
)
def test_malformed_queries_say_what_is_wrong(query, fragments):
    message = invalid(query)
    for fragment in fragments:
        assert fragment in message, message


def test_the_error_names_the_request_field():
    with pytest.raises(exceptions.InvalidInput) as info:
        host_query.parse("nope", "hypervisor_properties")
    assert info.value.message.startswith("hypervisor_properties: ")


def test_deeply_nested_json_is_invalid_input():
    message = invalid("[" * 100_000 + "]" * 100_000)
    assert "deep" in message


@pytest.mark.parametrize("depth", [17, 100, 2_000])
def test_deeply_nested_queries_are_invalid_input(depth):
    text = '["not", ' * depth + '["==", "$a", "1"]' + "]" * depth
    assert "nested too deeply" in invalid(text)


def test_a_query_with_very_many_comparisons_is_invalid_input():
    query = ["or"] + [["==", "$vcpus", str(n)] for n in range(5_000)]
    assert "comparisons" in invalid(query)


def test_reasonably_nested_queries_parse():
    query = ["==", "$a", "1"]
    for _ in range(7):
        query = ["and", ["not", query], ["==", "$b", "2"]]
    assert host_query.fields(parse(query)) == {"a", "b"}


# Fuzzing: whatever arrives, the answer is a tree, None or InvalidInput -----

_ATOMS = [
    "==",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "$vcpus",
    "$gpu",
    "$",
    "",
    "a100",
    "'; DROP TABLE leases; --",
    '"',
    "\\",
    "\x00",
    "é",
    0,
    -1,
    3.5,
    1e308,
    True,
    False,
    None,
]


def _garbage(rng, depth=0):
    roll = rng.random()
    if depth > 4 or roll < 0.25:
        return rng.choice(_ATOMS)
    if roll < 0.3:
        return {rng.choice(["a", "$b", "=="]): _garbage(rng, depth + 1)}
    if roll < 0.6:
        # Often well formed, so that parsing goes deeper.
        return [
            rng.choice(["==", "=", "!=", "<", ">=", "~", "and"]),
            rng.choice(["$vcpus", "$gpu", "$rack", "$", "gpu", 1]),
            rng.choice(_ATOMS),
        ][: rng.choice([1, 2, 3, 3, 3, 3, 4])]
    if roll < 0.9:
        head = rng.choice(["and", "or", "not", "not", "=="])
        return [head] + [
            _garbage(rng, depth + 1) for _ in range(rng.randint(0, 3))
        ]
    return [_garbage(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _check_parses_or_is_invalid(query):
    try:
        tree = host_query.parse(query, FIELD)
    except exceptions.InvalidInput as exc:
        assert exc.message.startswith(f"{FIELD}: ")
        return None
    assert tree is None or isinstance(
        tree, (host_query.Comparison, host_query.Logical)
    )
    return tree


def test_fuzzed_structures_parse_or_are_invalid_input():
    rng = random.Random(20301226)
    parsed = 0
    for _ in range(3_000):
        garbage = _garbage(rng)
        tree = _check_parses_or_is_invalid(json.dumps(garbage))
        _check_parses_or_is_invalid(garbage)
        parsed += tree is not None
    # The generator is not so wild that nothing ever parses.
    assert parsed > 50


def test_fuzzed_text_parses_or_is_invalid_input():
    rng = random.Random(7)
    alphabet = '[]{}",:$=<>!andotr 0123456789.-eE\\'
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        _check_parses_or_is_invalid(text)
    for _ in range(500):
        _check_parses_or_is_invalid(
            "".join(rng.choice(string.printable) for _ in range(20))
        )


# What a query matches ------------------------------------------------------


def _host(name, vcpus=4, hypervisor_type="baremetal", **capabilities):
    host = host_db.host_create(
        {
            "hypervisor_hostname": name,
            "vcpus": vcpus,
            "memory_mb": 4096,
            "local_gb": 10,
            "hypervisor_type": hypervisor_type,
            "cpu_info": "{}",
        },
        {k: str(v) for k, v in capabilities.items()},
    )
    return host["id"]


@pytest.fixture
def hosts(database):
    """Hosts named after what sets them apart."""
    return {
        "a100-rack9": _host("a100-rack9", vcpus=4, gpu="a100", rack=9),
        "h100-rack10": _host(
            "h100-rack10", vcpus=16, gpu="h100", rack=10, size="2.5"
        ),
        "nogpu-rackabc": _host(
            "nogpu-rackabc", vcpus=2, hypervisor_type="kvm", rack="abc"
        ),
        "bare": _host("bare", vcpus=32),
    }


def matching(hosts, *queries):
    """The names of the hosts matching every query."""
    trees = [parse(q) for q in queries]
    names = {v: k for k, v in hosts.items()}
    return {names[i] for i in host_db.host_ids_matching(set(names), trees)}


def check_table(hosts, table):
    """Assert each ``(query, expected names)``; None means every host.

    One database for a whole table keeps the tests fast; every wrong row
    is reported at once.
    """
    wrong = []
    for query, expected in table:
        expected = set(hosts) if expected is None else expected
        got = matching(hosts, query)
        if got != expected:
            wrong.append((query, sorted(got), sorted(expected)))
    assert wrong == []


def test_numbers_compare_as_numbers(hosts):
    # As strings, "10" < "9" and "2.5" > "10".
    check_table(
        hosts,
        [
            (["==", "$rack", "10"], {"h100-rack10"}),
            (["=", "$rack", "10"], {"h100-rack10"}),
            (["==", "$rack", "10.0"], {"h100-rack10"}),
            (["==", "$rack", 10], {"h100-rack10"}),
            (["!=", "$rack", "10"], {"a100-rack9", "nogpu-rackabc"}),
            (["<", "$rack", "10"], {"a100-rack9"}),
            (["<=", "$rack", "10"], {"a100-rack9", "h100-rack10"}),
            ([">", "$rack", "9"], {"h100-rack10"}),
            ([">=", "$rack", "9"], {"a100-rack9", "h100-rack10"}),
            ([">", "$rack", "100"], set()),
            ([">", "$size", "10"], set()),
            (["<", "$size", "10"], {"h100-rack10"}),
        ],
    )


def test_strings_compare_as_strings(hosts):
    check_table(
        hosts,
        [
            (["==", "$gpu", "a100"], {"a100-rack9"}),
            (["!=", "$gpu", "a100"], {"h100-rack10"}),
            (["<", "$gpu", "b"], {"a100-rack9"}),
            ([">", "$gpu", "a100"], {"h100-rack10"}),
            ([">=", "$gpu", "a100"], {"a100-rack9", "h100-rack10"}),
            (["<=", "$gpu", "A100"], set()),
            (["==", "$rack", "abc"], {"nogpu-rackabc"}),
            (["==", "$hypervisor_type", "kvm"], {"nogpu-rackabc"}),
            (
                ["!=", "$hypervisor_type", "kvm"],
                {"a100-rack9", "h100-rack10", "bare"},
            ),
        ],
    )


def test_inventory_fields_compare_as_numbers(hosts):
    check_table(
        hosts,
        [
            (["==", "$vcpus", "16"], {"h100-rack10"}),
            ([">=", "$vcpus", "4"], {"a100-rack9", "h100-rack10", "bare"}),
            ([">", "$vcpus", 9], {"h100-rack10", "bare"}),
            (["<", "$vcpus", "10"], {"a100-rack9", "nogpu-rackabc"}),
            (["<=", "$memory_mb", "4096"], None),
            (["==", "$vcpus", "many"], set()),
            # A number is never equal to text that is not one.
            (["!=", "$vcpus", "many"], None),
        ],
    )


def test_a_host_lacking_the_field_never_matches(hosts):
    for op in host_query.COMPARISONS:
        for value in ("a100", "5", ""):
            matched = matching(hosts, [op, "$gpu", value])
            assert not {"nogpu-rackabc", "bare"} & matched, (op, value)


def test_logical_operators_combine(hosts):
    assert matching(
        hosts, ["and", ["==", "$gpu", "a100"], ["<", "$rack", "10"]]
    ) == {"a100-rack9"}
    assert matching(
        hosts, ["or", ["==", "$gpu", "a100"], [">=", "$vcpus", "32"]]
    ) == {"a100-rack9", "bare"}
    assert matching(
        hosts,
        [
            "and",
            ["or", ["==", "$rack", "9"], ["==", "$rack", "abc"]],
            ["not", ["==", "$hypervisor_type", "kvm"]],
        ],
    ) == {"a100-rack9"}


def test_not_is_the_complement_of_its_query(hosts):
    query = ["==", "$gpu", "a100"]
    assert matching(hosts, ["not", query]) == set(hosts) - matching(
        hosts, query
    )
    assert matching(hosts, ["not", ["not", query]]) == matching(hosts, query)


def test_every_query_must_match(hosts):
    assert matching(hosts, [">=", "$vcpus", "4"], ["==", "$gpu", "h100"]) == {
        "h100-rack10"
    }


def test_no_query_matches_every_host(hosts):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert matching(hosts) == set(hosts)


def test_quotes_and_sql_are_just_values(hosts):
    for value in (
        "'; DROP TABLE leases; --",
        "a100' OR '1'='1",
        'a100" OR "1"="1',
        "%",
        "_",
        "a100%",
        "\\",
        "*",
    ):
        host_db.host_update(hosts["bare"], {}, {"note": value})

        assert matching(hosts, ["==", "$note", value]) == {"bare"}, value
        assert matching(hosts, ["==", "$gpu", value]) == set()
        assert matching(hosts, ["!=", "$note", value]) == set()
    # The tables are all still there.
    assert db_api.lease_list() == []
    assert len(host_db.host_list()) == 4


def test_a_field_name_that_looks_like_sql_is_just_a_name(hosts):
    field = "gpu' OR 1=1 --"
    assert matching(hosts, ["==", f"${field}", "a100"]) == set()
    with pytest.raises(exceptions.InvalidInput) as info:
        host_db.host_query_check_fields(
            [parse(["==", f"${field}", "a100"])], FIELD
        )
    assert f"${field}" in info.value.message


def test_fuzzed_queries_that_parse_run_on_the_database(hosts):
    rng = random.Random(1226)
    ran = 0
    for _ in range(400):
        garbage = _garbage(rng)
        tree = _check_parses_or_is_invalid(garbage)
        if tree is None:
            continue
        # Never more hosts than exist, never an error.
        assert host_db.host_ids_matching(set(hosts.values()), [tree]) <= set(
            hosts.values()
        )
        ran += 1
    assert ran > 5


def test_query_on_a_field_no_host_has_names_it(hosts):
    tree = parse(["and", ["==", "$colour", "red"], ["==", "$gpu", "a100"]])
    with pytest.raises(exceptions.InvalidInput) as info:
        host_db.host_query_check_fields([tree], FIELD)
    assert info.value.message == f"{FIELD}: no host has a field named $colour"


def test_query_on_several_unknown_fields_names_them_all(hosts):
    trees = [parse(["==", "$colour", "red"]), parse(["<", "$age", "3"])]
    with pytest.raises(exceptions.InvalidInput) as info:
        host_db.host_query_check_fields(trees, FIELD)
    assert "fields named $age, $colour" in info.value.message


def test_inventory_fields_and_known_capabilities_pass_the_check(hosts):
    trees = [
        parse(["and", ["==", "$gpu", "x"], [">", "$vcpus", "1"]]),
        parse(["==", "$hypervisor_hostname", "bare"]),
        parse(["==", "$availability_zone", "nova"]),
    ]
    host_db.host_query_check_fields(trees, FIELD)
