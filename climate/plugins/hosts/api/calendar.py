"""``GET /calendar``: the web calendar, one static page (shipped in the
package, no build step) that reads ``/v1/os-hosts/calendar`` and writes
leases through the same public API as any client, with the user's token
or the embedded mode's noauth headers."""

import os

import flask

blueprint = flask.Blueprint("calendar", __name__)

_STATIC = os.path.join(os.path.dirname(__file__), "static")


@blueprint.get("/calendar")
def page():
    response = flask.send_from_directory(_STATIC, "calendar.html")
    response.headers["Cache-Control"] = "no-cache"
    return response
