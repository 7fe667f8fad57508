"""The API writes JSON with orjson: same meaning as Flask's own writer."""

import datetime
import decimal
import json

import flask

from climate.api import jsonprovider


def _app():
    app = flask.Flask("t")
    jsonprovider.install(app)
    app.json.sort_keys = False
    return app


def test_answers_keep_key_order_and_text():
    app = _app()
    value = {"z": 1, "a": ["é", None, True, 1.5], "m": {"k": "ç\u0000"}}
    with app.app_context():
        response = flask.jsonify(value)
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == value
    assert list(json.loads(response.get_data())) == ["z", "a", "m"]


def test_what_orjson_does_not_know_goes_through_flask():
    app = _app()
    moment = datetime.datetime(2030, 1, 2, 3, 4, 5)
    with app.app_context():
        data = json.loads(
            flask.jsonify(when=moment, amount=decimal.Decimal("1.5")).data
        )
        plain = flask.Flask("plain")
        with plain.app_context():
            expected = json.loads(
                flask.jsonify(when=moment, amount=decimal.Decimal("1.5")).data
            )
    assert data == expected
    assert json.loads(app.json.dumps({"a": moment})) == {
        "a": "Wed, 02 Jan 2030 03:04:05 GMT"
    }
