"""Reading request bodies and query strings, with 400s that say why."""

import json

import flask

from climate import exceptions


def json_object(allowed, envelope=None):
    """Return the request's JSON object, checked against ``allowed``.

    :param allowed: ``{field: type or tuple of types}``, or None to let the
        caller check the fields; any other field is
        refused, and so is a field of another type.
    :param envelope: a key the object may also arrive wrapped in, such as
        ``"lease"`` for ``{"lease": {...}}``.
    :raises MalformedRequestBody: not JSON, not an object, unknown field.
    """
    raw = flask.request.get_data(cache=False)
    if not raw.strip():
        raise exceptions.MalformedRequestBody(reason="the body is empty")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise exceptions.MalformedRequestBody(reason=f"not valid JSON ({exc})")
    except RecursionError:
        raise exceptions.MalformedRequestBody(reason="JSON nested too deeply")
    if (
        envelope
        and isinstance(body, dict)
        and list(body) == [envelope]
        and isinstance(body[envelope], dict)
    ):
        body = body[envelope]
    if not isinstance(body, dict):
        raise exceptions.MalformedRequestBody(reason="expected a JSON object")
    _refuse_nul(body, "the body")
    if allowed is None:
        return body
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise exceptions.MalformedRequestBody(
            reason=f"unknown field(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )
    for field, value in body.items():
        expected = allowed[field]
        if value is not None and not isinstance(value, expected):
            raise exceptions.MalformedRequestBody(
                reason=f"{field} must be {_type_name(expected)}, not "
                f"{_type_name(type(value))}"
            )
    return body


_TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "an integer",
    bool: "a boolean",
    float: "a number",
    type(None): "null",
}


def _type_name(types):
    if isinstance(types, tuple):
        return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
    return _TYPE_NAMES.get(types, types.__name__)


def _refuse_nul(value, where):
    """No string of the request may hold a NUL character: databases refuse
    it (PostgreSQL), and no name or date needs one."""
    if isinstance(value, str):
        if "\x00" in value:
            raise exceptions.InvalidInput(
                reason=f"{where} holds a NUL character (\\u0000), which no "
                "field accepts"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, f"{key}" if where == "the body" else where)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, where)


def refuse_nul_in_url():
    """Refuse a path or query string holding a NUL character (``%00``)."""
    _refuse_nul(flask.request.path, "the URL's path")
    for key, value in flask.request.args.items(multi=True):
        _refuse_nul(key, "the query string")
        _refuse_nul(value, f"query parameter {key}")


def query_args(allowed):
    """Return the query string as a dict, refusing unknown parameters."""
    args = flask.request.args
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise exceptions.InvalidInput(
            reason=f"unknown query parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return {key: args.get(key) for key in allowed if key in args}


def limit_arg(value, maximum):
    """Parse ``?limit=``: an integer from 1 to ``maximum``."""
    if value is None:
        return None
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise exceptions.InvalidInput(
            reason=f"limit must be an integer from 1 to {maximum}, not "
            f"{value!r}"
        )
    return limit


def boolean_arg(value, name):
    """Parse a boolean query parameter (``True``, ``false``, ``1``...)."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise exceptions.InvalidInput(
        reason=f"{name} must be true or false, not {value!r}"
    )
