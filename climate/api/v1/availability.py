"""``/v1/availability``: when would a reservation request be granted.

The query names the ``resource_type``, the search (``duration``,
``after``, ``before``, ``limit``) and, like a reservation of that type,
what is wanted (the type's own fields).  The plugin of the type answers,
from the database.
"""

import flask

from climate import availability, exceptions
from climate.api import auth, body
from climate.common import dates

blueprint = flask.Blueprint("availability", __name__)

_SEARCH_ARGS = ("resource_type", "duration", "after", "before", "limit")
_DEFAULT_LIMIT = 5


@blueprint.get("")
def search():
    auth.authorize("climate:availability:get")
    args = flask.request.args
    for name in args:
        if len(args.getlist(name)) > 1:
            raise exceptions.InvalidInput(
                reason=f"query parameter {name} is given more than once"
            )
    resource_type = args.get("resource_type")
    plugins = flask.current_app.extensions["climate.plugins"]
    if not resource_type:
        raise exceptions.InvalidInput(
            reason="resource_type is required; one of "
            f"{', '.join(sorted(plugins)) or 'none'}"
        )
    if resource_type not in plugins:
        raise exceptions.UnsupportedResourceType(
            resource_type=resource_type,
            supported=", ".join(sorted(plugins)) or "none",
        )
    duration = args.get("duration")
    if duration is not None:
        duration = dates.parse_duration(duration, "duration")
    now = dates.utcnow()
    after = _date(args.get("after"), "after", now)
    before = _date(args.get("before"), "before", now)
    limit = (
        body.limit_arg(args.get("limit"), availability.MAX_LIMIT)
        or _DEFAULT_LIMIT
    )
    start, end = availability.search_period(after, before, duration, now)
    values = {k: v for k, v in args.items() if k not in _SEARCH_ARGS}
    windows = availability.search(
        plugins[resource_type],
        flask.g.context,
        values,
        start,
        end,
        duration,
        limit,
    )
    return flask.jsonify(
        availability={
            "resource_type": resource_type,
            "after": dates.format_date(start),
            "before": dates.format_date(end),
            "duration": f"{int(duration.total_seconds())}s",
            "windows": windows,
        }
    )


def _date(value, field, now):
    return None if value is None else dates.parse(value, field, now)
