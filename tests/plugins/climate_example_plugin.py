"""A minimal resource plugin that uses every part of the plugin slice.

The example of ``doc/plugins.md``, installed through a real entry point
(``test.example.plugin``, declared in the ``.dist-info`` folder beside this
file) and tested by ``tests/unit/plugins/test_example_plugin.py``.  It
reserves ``test:example`` "widgets": a reservation asks for a ``size``, and
the plugin brings

* its options, the ``[test:example]`` group (``list_opts``; also the
  ``climate.test_example`` namespace of oslo-config-generator);
* one API route, ``GET /v1/test-example``: the totals (``blueprints``),
  guarded by its own policy, ``climate:test-example:get`` (``policies``);
* one RPC method in its own namespace, ``test_example`` 1.0, that the
  route calls (``rpc_endpoints``, ``ExampleAPI``);
* its reservation fields on the lease, ``size`` and ``unit``
  (``load_fields``, ``view``), and what a lease holds for the usage
  limits (``usage``).

To stay one short file it keeps each reservation's size in memory, so it
works only with the API and the manager in one process, and a size outlives
a rolled-back create.  A real plugin keeps its fields in a table of its own
(``models_module``, ``migrations_dir``): see ``climate/plugins/hosts``.
"""

import threading

import oslo_messaging as messaging
from oslo_config import cfg

from climate import exceptions, rpc
from climate.plugins import base
from climate.policies import base as policy_base

CONF = cfg.CONF

GROUP = cfg.OptGroup("test:example", title="Example plugin")
OPTS = [
    cfg.StrOpt(
        "unit",
        default="widgets",
        help="What the example plugin's sizes count, shown beside each "
        "reservation's size.",
    ),
]

NAMESPACE = "test_example"
RPC_API_VERSION = "1.0"
POLICY = "climate:test-example:get"

_sizes = {}
_lock = threading.Lock()


def list_opts():
    """``[(group, [opts])]``, for oslo-config-generator."""
    return [(GROUP, OPTS)]


class ExampleAPI:
    """Client side of the plugin's RPC API.

    Version history (namespace ``test_example``):

    * 1.0 - totals.
    """

    def __init__(self):
        self._client = rpc.get_client(
            rpc.MANAGER_TOPIC, RPC_API_VERSION, namespace=NAMESPACE
        )

    def totals(self, context):
        """How many reservations the plugin holds, and their total size."""
        return self._client.call(context, "totals")


class ExampleEndpoint:
    """The manager's side of ``ExampleAPI``."""

    target = messaging.Target(namespace=NAMESPACE, version=RPC_API_VERSION)

    @messaging.expose
    def totals(self, context):
        """``{"reservations", "size", "unit"}``."""
        with _lock:
            sizes = list(_sizes.values())
        return {
            "reservations": len(sizes),
            "size": sum(sizes),
            "unit": CONF[GROUP.name].unit,
        }


class ExamplePlugin(base.ResourcePlugin):
    """Reserves ``test:example`` widgets: any size is available."""

    resource_type = "test:example"

    # Static parts ------------------------------------------------------------

    @classmethod
    def list_opts(cls):
        """The ``[test:example]`` group."""
        return {GROUP: OPTS}

    @classmethod
    def blueprints(cls):
        """``GET /v1/test-example``: the totals, from the manager."""
        import flask

        from climate.api import auth

        blueprint = flask.Blueprint("test_example", __name__)

        @blueprint.get("")
        def totals():
            auth.authorize(POLICY)
            return flask.jsonify(example=ExampleAPI().totals(flask.g.context))

        return [(blueprint, "/v1/test-example")]

    @classmethod
    def policies(cls):
        """``climate:test-example:get``: any member of a project."""
        return [
            policy_base.api_rule(
                POLICY,
                policy_base.PROJECT_MEMBER_OR_ADMIN,
                "Show the example plugin's totals.",
                ("GET", "/v1/test-example"),
            )
        ]

    @classmethod
    def load_fields(cls, reservation_ids):
        """``{reservation_id: {"size": n}}``, in one look-up."""
        with _lock:
            return {
                rid: {"size": _sizes[rid]}
                for rid in reservation_ids
                if rid in _sizes
            }

    @classmethod
    def view(cls, fields):
        """The size, and its unit from the plugin's options."""
        return {"size": fields["size"], "unit": CONF[GROUP.name].unit}

    @classmethod
    def usage(cls, lease_ids):
        """Nothing a usage limit counts."""
        return {}

    # The manager's parts -----------------------------------------------------

    def reserve(self, context, lease, reservation, values):
        _sizes_set(reservation["id"], _size(values))
        return reservation["id"]

    def update(self, context, lease, reservation, values):
        if values:
            _sizes_set(reservation["id"], _size(values))

    def release(self, lease, reservation):
        with _lock:
            _sizes.pop(reservation["id"], None)

    def on_start(self, lease, reservation):
        return None

    def on_end(self, lease, reservation):
        return None

    def rpc_endpoints(self):
        return [ExampleEndpoint()]


def _size(values):
    unknown = sorted(set(values) - {"size"})
    size = values.get("size")
    if unknown or isinstance(size, bool) or not isinstance(size, int):
        raise exceptions.InvalidInput(
            reason="a test:example reservation takes one field, size, an "
            "integer"
        )
    return size


def _sizes_set(reservation_id, size):
    with _lock:
        _sizes[reservation_id] = size
