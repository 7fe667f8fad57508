"""Loading resource plugins from the ``climate.resource.plugins`` group.

``classes(names)`` gives the enabled plugins' classes, for processes that
must not build plugins (the API); ``load(names)`` builds them (the
manager).  Both register each enabled plugin's static parts where the core
looks them up without naming a type: its options on ``cfg.CONF``, its
reservation fields in ``climate.db.api``, its view in
``climate.common.views``.  ``installed()`` gives every installed plugin,
enabled or not, for its tables, migrations and policies.
"""

from oslo_config import cfg
from stevedore import extension

from climate import exceptions
from climate.common import views
from climate.db import api as db_api

NAMESPACE = "climate.resource.plugins"


def _extensions():
    """Every installed plugin's entry point that imports, by name."""
    available = extension.ExtensionManager(NAMESPACE, invoke_on_load=False)
    return {ext.name: ext for ext in available}


def installed():
    """Every installed plugin class, enabled or not: ``{name: class}``.

    Nothing is built.  A plugin that fails to import is logged by
    stevedore and left out.
    """
    return {name: ext.plugin for name, ext in sorted(_extensions().items())}


def classes(names):
    """The classes of the named plugins: ``{resource_type: class}``.

    Builds nothing, and registers each class's static parts (see the
    module's docstring).

    :param names: entry point names, as in ``[manager] plugins``.
    :raises ConfigurationError: a name is not installed, or two plugins
        serve one resource type.
    """
    available = _extensions()
    missing = [name for name in names if name not in available]
    if missing:
        raise exceptions.ConfigurationError(
            reason=f"[manager] plugins names {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; "
            f"installed plugins: {', '.join(sorted(available)) or 'none'}"
        )
    found = {}
    owners = {}
    for name in dict.fromkeys(names):
        plugin_class = available[name].plugin
        resource_type = plugin_class.resource_type
        if resource_type in found:
            first = owners[resource_type]
            raise exceptions.ConfigurationError(
                reason=f"[manager] plugins enables both {first} and {name} "
                f"for resource type {resource_type}; enable only one"
            )
        found[resource_type] = plugin_class
        owners[resource_type] = name
    for plugin_class in found.values():
        _register(plugin_class)
    return found


def load(names):
    """Build the named plugins; return ``{resource_type: plugin}``.

    :raises ConfigurationError: a name is not installed, two plugins
        serve one resource type, or a plugin cannot work as configured.
    """
    return {
        resource_type: plugin_class()
        for resource_type, plugin_class in classes(names).items()
    }


def _register(plugin_class):
    resource_type = plugin_class.resource_type
    for group, opts in plugin_class.list_opts().items():
        cfg.CONF.register_group(group)
        cfg.CONF.register_opts(opts, group=group)
    db_api.register_reservation_fields(resource_type, plugin_class.load_fields)
    db_api.register_usage(resource_type, plugin_class.usage)
    views.register_reservation_view(resource_type, plugin_class.view)
