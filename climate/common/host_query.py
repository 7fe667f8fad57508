"""The host query language: JSON filters over host capabilities.

A query is a JSON string (or the parsed value): ``["==", "$vcpus", "4"]``,
``[">=", "$memory_mb", "4096"]``, ``["and", q1, q2, ...]``,
``["or", q1, ...]``, ``["not", q]``.  ``$name`` names a host field (vcpus,
memory_mb, local_gb, hypervisor_type, ...) or an extra capability.  A value
that reads as a number is compared as a number, so ``"10" > "9"``.

``parse`` turns the text into a small tree and says precisely what is wrong
with a malformed query; the DB functions of the plugin that queries hosts
(``climate/plugins/hosts/db/hosts.py``) turn the tree into SQL with bound
parameters only, so a query can never reach SQL text.  A host without the
field never matches, whatever the operator.
"""

import dataclasses
import json

from climate import exceptions

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ALIASES = {"=": "=="}
LOGICAL = ("and", "or", "not")
#: Bounds that keep a query within what Python's recursion and the
#: databases' expression depth allow; real queries are far smaller.
MAX_DEPTH = 16
MAX_COMPARISONS = 100


@dataclasses.dataclass(frozen=True)
class Comparison:
    op: str
    field: str
    value: str
    number: float | None  # the value as a number, if it reads as one


@dataclasses.dataclass(frozen=True)
class Logical:
    op: str
    operands: tuple


def parse(text, field_name):
    """Parse a query; return its tree, or None for an empty query.

    :param field_name: the request field, named in error messages.
    :raises InvalidInput: malformed JSON, unknown operator, bad operands.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, str):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise _invalid(field_name, f"not valid JSON ({exc})")
        except RecursionError:
            raise _too_deep(field_name)
    else:
        value = text
    if value == []:
        return None
    tree = _parse(value, field_name, 1)
    if _comparisons(tree) > MAX_COMPARISONS:
        raise _invalid(
            field_name,
            f"a query may hold at most {MAX_COMPARISONS} comparisons",
        )
    return tree


def _parse(value, field_name, depth):
    if depth > MAX_DEPTH:
        raise _too_deep(field_name)
    if not isinstance(value, list) or not value:
        raise _invalid(
            field_name,
            f"expected a list such as "
            f'["==", "$vcpus", "4"], got {json.dumps(value)}',
        )
    op = value[0]
    if not isinstance(op, str):
        raise _invalid(
            field_name, f"operator must be a string: {json.dumps(value)}"
        )
    op = _ALIASES.get(op, op)
    if op in LOGICAL:
        operands = value[1:]
        if op == "not" and len(operands) != 1:
            raise _invalid(field_name, "'not' takes exactly one query")
        if not operands:
            raise _invalid(field_name, f"'{op}' needs at least one query")
        return Logical(
            op, tuple(_parse(o, field_name, depth + 1) for o in operands)
        )
    if op not in COMPARISONS:
        raise _invalid(
            field_name,
            f"unknown operator {op!r}; use one of "
            f"{', '.join(COMPARISONS + LOGICAL)}",
        )
    if len(value) != 3:
        raise _invalid(
            field_name,
            f"{op!r} takes a $field and a value: {json.dumps(value)}",
        )
    field, literal = value[1], value[2]
    if (
        not isinstance(field, str)
        or not field.startswith("$")
        or len(field) < 2
    ):
        raise _invalid(
            field_name,
            f"{json.dumps(field)} is not a field; "
            "fields start with $, as in $vcpus",
        )
    if isinstance(literal, bool) or not isinstance(literal, (str, int, float)):
        raise _invalid(
            field_name,
            f"the value compared with {field} must be a string or a number",
        )
    literal = str(literal)
    return Comparison(op, field[1:], literal, as_number(literal))


def as_number(text):
    """``text`` as a float if it reads as a finite number, else None."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def fields(tree):
    """The set of field names a query tree mentions."""
    if tree is None:
        return set()
    if isinstance(tree, Comparison):
        return {tree.field}
    return set().union(*(fields(o) for o in tree.operands))


def _comparisons(tree):
    if isinstance(tree, Comparison):
        return 1
    return sum(_comparisons(o) for o in tree.operands)


def _too_deep(field_name):
    return _invalid(
        field_name, f"the query is nested too deeply (at most {MAX_DEPTH})"
    )


def _invalid(field_name, reason):
    return exceptions.InvalidInput(reason=f"{field_name}: {reason}")
