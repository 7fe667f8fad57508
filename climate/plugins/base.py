"""The resource plugin interface.

A plugin makes one ``resource_type`` reservable.  The manager calls it in two
places: inside the lease's create/update/delete transaction (``reserve``,
``update``, ``release``: admission and bookkeeping, no calls to the outside
world) and from the event loop, outside any transaction (``on_start``,
``before_end``, ``on_end``: acting on the cloud).

Every hook is idempotent: running it twice, or running it when the step
before it never ran, does no harm.  Lease and reservation arguments are the
plain dicts ``climate.db.api`` returns.

A plugin owns everything of its type: its tables and migrations, the fields
it adds to a reservation, its API routes, RPC methods, policies, options
and CLI commands; the core names no resource type (``doc/plugins.md``).
The hooks above and ``rpc_endpoints`` are the *instance* parts, used by the
manager only.  The *static* parts are class attributes and classmethods,
used without an instance: the API process, ``climate-db-manage`` and the
oslo generators read them, and must not build a plugin (building one may
load a compute driver that needs credentials).  The loader
(``climate.plugins``) registers a plugin's options, fields, view and usage
counter when it loads the class.
"""

import abc

from climate import exceptions


class ResourcePlugin(abc.ABC):
    """Base of ``climate.resource.plugins`` entry points."""

    #: The ``resource_type`` of the reservations this plugin serves.
    resource_type: str = ""

    #: Paths of the plugin's routes answered without authentication
    #: (a static page that then calls the API with the user's token).
    public_paths: tuple[str, ...] = ()

    # Static parts ------------------------------------------------------------

    #: Dotted name of the module defining the plugin's tables on
    #: ``climate.db.models.Base``, or None for a plugin without tables.
    #: Imported by the migrations and their tests, so the models of every
    #: installed plugin are compared with the migrations.
    models_module: str | None = None

    #: Directory of the plugin's Alembic revisions, or None.  They belong
    #: to Climate's one history: ``climate-db-manage upgrade`` applies the
    #: revisions of every installed plugin, enabled or not.
    migrations_dir: str | None = None

    @classmethod
    def list_opts(cls):
        """The plugin's configuration options.

        Registered on the global ``cfg.CONF`` when the loader loads the
        class; the same function's output is what oslo-config-generator
        shows, through an ``oslo.config.opts`` entry point of the plugin.

        :returns: ``{cfg.OptGroup: [opts]}``; default: none.
        """
        return {}

    @classmethod
    def blueprints(cls):
        """The plugin's API routes, registered when it is enabled.

        Import Flask inside this method: the manager never needs it.
        Handlers follow the API's rules: read through the plugin's DB
        functions, write only over the plugin's RPC methods, check a policy
        first.

        :returns: ``[(flask.Blueprint, url_prefix)]``; default: none.
        """
        return []

    @classmethod
    def openapi_paths(cls):
        """The plugin's routes in ``/v1/openapi.json``.

        Build request bodies and query parameters from the tables the
        handlers validate with (``climate.api.openapi`` has the helpers),
        so the document cannot drift from them.  Import them inside this
        method, like ``blueprints``.

        :returns: ``{path: {method: operation}}``; default: none.
        """
        return {}

    @classmethod
    def policies(cls):
        """The plugin's oslo.policy defaults.

        Every installed plugin's rules are registered by the API's
        enforcer and listed by ``oslopolicy-sample-generator``; an
        operator's policy file overrides them like any other.

        :returns: a list of ``oslo_policy.policy.RuleDefault``; default:
            none.
        """
        return []

    @classmethod
    def load_fields(cls, reservation_ids):
        """The type-specific fields of many reservations, in one query.

        Called by every lease read (``climate.db.api``) inside its
        transaction, once per read with every reservation of this type it
        returns.  The fields join the reservation dicts the plugin's hooks
        receive, and, through ``view``, the API's and notifications' lease.
        They must not use the names of a reservation's own columns.

        :param reservation_ids: ids of reservations of this type.
        :returns: ``{reservation_id: {field: value}}``; a reservation
            left out has no fields of its own.  Default: none.
        """
        return {}

    @classmethod
    def view(cls, fields):
        """The wire form of a reservation's type-specific fields.

        :param fields: what ``load_fields`` gave for one reservation.
        :returns: the fields to show after the common ones, in order.
            Default: ``fields`` unchanged.
        """
        return dict(fields)

    @classmethod
    def usage(cls, lease_ids):
        """What leases hold of this type, for the usage limits.

        Called inside the usage check's transaction
        (``climate.db.api.lease_usage``), in one query for all the leases.

        :param lease_ids: ids of leases of one project.
        :returns: ``{lease_id: {amount name: number}}``, such as
            ``{"hosts": 2}`` (``[enforcement] max_hosts_per_project``
            reads ``hosts``).  Default: nothing held.
        """
        return {}

    @classmethod
    def availability(
        cls,
        context,
        values,
        start,
        end,
        duration,
        limit,
        current=None,
        ignore_reservations=(),
    ):
        """When a reservation of this type would be granted (optional).

        Computed from what is allocated, in a few queries, and in
        agreement with ``reserve``: a lease created at any start returned
        is admitted (if nothing changed meanwhile).  Reads only; any
        process may call it.

        :param context: the caller's ``RequestContext`` (whose project
            may reserve what).
        :param values: the reservation's fields as requested (query
            strings: numbers may come as text), without
            ``resource_type``.
        :param start: the earliest start wanted; ``end`` the latest end.
        :param duration: how long the lease lasts (a timedelta).
        :param limit: how many windows to return at most.
        :param current: the fields of an existing reservation that
            ``values`` change, or None.
        :param ignore_reservations: reservation ids whose resources count
            as free (the lease asking is the one holding them).
        :returns: up to ``limit`` windows, earliest first, each a dict:
            ``start`` (its earliest start), ``latest_start``, ``max_end``
            (the latest end a lease starting at ``start`` could have;
            None: no limit but the others) and ``free`` (how much of the
            resource is free for ``duration`` from ``start``).
        :raises Invalid: ``values`` are malformed (400).
        :raises NotSupported: the default: the plugin cannot tell (400).
        """
        raise exceptions.NotSupported(
            what="The availability search", resource_type=cls.resource_type
        )

    @classmethod
    def extension(cls, context, lease, reservation):
        """How far a reservation's end could move now (optional).

        :param lease: the lease, as ``climate.db.api`` returns it.
        :param reservation: one of its reservations of this type, with
            its fields.
        :returns: a dict: ``keep`` (the latest end keeping the resources
            it holds; None: no limit), ``swap`` (the latest end if it may
            exchange resources taken later for free ones; None: no
            limit) and ``swap_note`` (why swapping is not possible, or
            None).
        :raises NotSupported: the default (400).
        """
        raise exceptions.NotSupported(
            what="Extension advice", resource_type=cls.resource_type
        )

    # Instance parts (the manager) -----------------------------------------

    @abc.abstractmethod
    def reserve(self, context, lease, reservation, values):
        """Admit a new reservation and allocate its resources.

        Runs inside the lease's create transaction: whatever it writes
        through ``climate.db.api`` commits or rolls back with the lease.

        :param context: the request's ``RequestContext``.
        :param lease: the new lease (``start_date``, ``end_date``, ...).
        :param reservation: the new reservation row (``id``, ...).
        :param values: the reservation as requested, without
            ``resource_type``.
        :returns: the ``resource_id`` to record on the reservation.
        :raises Invalid: ``values`` are malformed (400).
        :raises NotEnoughResourcesAvailable: the capacity is not there for
            the whole window (409).
        """

    @abc.abstractmethod
    def update(self, context, lease, reservation, values):
        """Fit a reservation to a changed lease window or changed values.

        Runs inside the lease's update transaction.  ``lease`` carries the
        new dates; ``values`` the reservation's changed fields (possibly
        none, when only the window moved).

        :raises Invalid: ``values`` are malformed (400).
        :raises NotEnoughResourcesAvailable: the change cannot be satisfied
            (409); the transaction rolls back and nothing changes.
        """

    @abc.abstractmethod
    def release(self, lease, reservation):
        """Free what ``reserve`` allocated, as the lease is deleted.

        Runs inside the delete transaction, after ``on_end`` if the lease
        was active.  Idempotent.
        """

    @abc.abstractmethod
    def on_start(self, lease, reservation):
        """Hand the reserved resources over to the lease's project.

        Called by the event loop at the lease's start, outside any
        transaction.  Raise any exception to have the event retried.
        """

    @abc.abstractmethod
    def on_end(self, lease, reservation):
        """Take the resources back at the lease's end (or its deletion).

        Must also work when ``on_start`` never ran or only half ran.
        Raise any exception to have the event retried.
        """

    def before_end(self, lease, reservation):  # noqa: B027 (optional hook)
        """Act shortly before the end (snapshot, warn).  Default: nothing."""
        return None

    @classmethod
    def stages(cls):
        """The plugin's own lifecycle stages, beside the core's.

        :returns: ``climate.stages.Stage`` declarations (a ``prepare``
            before the start, a ``reclaim`` after the end...), each with
            an ``offset(lease, reservation)`` and a ``hook`` naming a
            method of the plugin.  Default: none.
        """
        return []

    def previous_holders(self, lease, reservation):
        """Leases that held what ``reservation`` is about to be handed.

        Before an acquiring stage (a start, an update) runs, the event
        runner waits until every lease named here has finished giving its
        resources back, so back-to-back leases never overlap on the cloud
        even when their events run at once.  Called outside any
        transaction.

        :returns: a set of lease ids; default: none.
        """
        return set()

    def periodic_tasks(self):
        """``[(seconds, task)]``: callables without arguments the manager
        runs every ``seconds`` on a thread of its own (a failing pass is
        logged and the next one runs).  Default: none."""
        return []

    def rpc_endpoints(self):
        """The objects answering this plugin's RPC methods.

        Served beside the manager's own endpoint, on its topic: each has a
        ``target`` naming the plugin's own namespace and version, and
        exposes its methods with ``oslo_messaging.expose``.

        :returns: a list of endpoint objects; default: none.
        """
        return []
