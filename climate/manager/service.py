"""The manager: its RPC endpoint and the service that runs it.

``ManagerService`` loads the resource plugins, serves the RPC endpoints —
its own and each plugin's, in the plugin's namespace — (on the broker, or
in-process for the embedded mode) and runs the event runner.
"""

import os
import threading
import uuid

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions, plugins, rpc, stages
from climate.enforcement import UsageEnforcer
from climate.manager import (
    events,
    leases,
    notifications,
    queue,
    rpcapi,
    runner,
)

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

_expected = messaging.expected_exceptions(exceptions.ClimateException)


class ManagerEndpoint:
    """The methods ``rpcapi.ManagerAPI`` calls; see its version history."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(self, lease_manager):
        self._leases = lease_manager

    @messaging.expose
    @_expected
    def create_lease(self, context, lease_values):
        return self._leases.create(context, lease_values)

    @messaging.expose
    @_expected
    def update_lease(self, context, lease_id, values):
        return self._leases.update(context, lease_id, values)

    @messaging.expose
    @_expected
    def delete_lease(self, context, lease_id):
        return self._leases.delete(context, lease_id)

    @messaging.expose
    @_expected
    def get_lease(self, context, lease_id):
        return self._leases.get(context, lease_id)

    @messaging.expose
    @_expected
    def list_leases(self, context, filters):
        return self._leases.list(context, **filters)


class ManagerService:
    """Plugins, RPC endpoint and event loop of one manager process.

    :raises ConfigurationError: from the constructor, when the plugins,
        the enforcement filters or the notifier configured cannot work.
    """

    def __init__(self):
        # Unique per process and start: a restarted manager must not
        # renew or record the claims of the one it replaces.
        self.claimer = f"{CONF.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.plugins = plugins.load(CONF.manager.plugins)
        self.lifecycle = stages.Lifecycle(self.plugins)
        self.enforcer = UsageEnforcer.from_config()
        self.notifier = notifications.Notifier()
        self.runner = runner.EventRunner(
            events.EventHandler(
                self.plugins,
                self.lifecycle,
                notifier=self.notifier,
                enforcer=self.enforcer,
                on_free=self._free,
            ),
            self.claimer,
        )
        self.leases = leases.LeaseManager(
            self.plugins,
            self.lifecycle,
            on_change=self.runner.wake,
            enforcer=self.enforcer,
            notifier=self.notifier,
            on_free=self._free,
        )
        self.queue = queue.QueueScheduler(self.leases, self.plugins)
        self.endpoint = ManagerEndpoint(self.leases)
        self.endpoints = [self.endpoint]
        for plugin in self.plugins.values():
            self.endpoints.extend(plugin.rpc_endpoints())
        self._server = None
        self._periodic = []
        self._stopping = threading.Event()

    def start(self):
        if rpc.uses_broker():
            self._server = rpc.get_server(
                rpcapi.TOPIC, CONF.host, self.endpoints
            )
            self._server.start()
        else:
            for endpoint in self.endpoints:
                rpc.register_local_endpoint(rpcapi.TOPIC, endpoint)
        self.runner.start()
        self.queue.start()
        self._stopping.clear()
        for plugin in self.plugins.values():
            for interval, task in plugin.periodic_tasks():
                thread = threading.Thread(
                    target=self._every,
                    args=(interval, task),
                    name=f"climate-periodic-{getattr(task, '__name__', '')}",
                    daemon=True,
                )
                thread.start()
                self._periodic.append(thread)
        LOG.info(
            "manager %s started with plugins: %s",
            self.claimer,
            ", ".join(sorted(self.plugins)) or "none",
        )

    def stop(self):
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        else:
            rpc.unregister_local_endpoint(rpcapi.TOPIC)
        self._stopping.set()
        for thread in self._periodic:
            thread.join(10)
        self._periodic = []
        self.queue.stop()
        self.runner.stop()
        LOG.info("manager %s stopped", self.claimer)

    def _free(self):
        """Capacity freed or a lease queued: the queue looks again."""
        queue_scheduler = getattr(self, "queue", None)
        if queue_scheduler is not None:
            queue_scheduler.wake()

    def _every(self, interval, task):
        """Run a plugin's periodic task every ``interval`` seconds."""
        while not self._stopping.wait(interval):
            try:
                task()
            except Exception:
                LOG.exception("periodic task %s failed; it runs again", task)
