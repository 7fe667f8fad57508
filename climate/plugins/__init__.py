"""Loading resource plugins from the ``climate.resource.plugins`` group."""

from stevedore import extension

from climate import exceptions

NAMESPACE = "climate.resource.plugins"


def load(names):
    """Load the named plugins; return ``{resource_type: plugin}``.

    :raises ConfigurationError: a name is not installed, or two plugins
        serve one resource type.
    """
    available = extension.ExtensionManager(NAMESPACE, invoke_on_load=False)
    installed = {ext.name: ext for ext in available}
    missing = [name for name in names if name not in installed]
    if missing:
        raise exceptions.ConfigurationError(
            reason=f"[manager] plugins names {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; "
            f"installed plugins: {', '.join(sorted(installed)) or 'none'}"
        )
    plugins = {}
    owners = {}
    for name in dict.fromkeys(names):
        plugin = installed[name].plugin()
        resource_type = plugin.resource_type
        if resource_type in plugins:
            first = owners[resource_type]
            raise exceptions.ConfigurationError(
                reason=f"[manager] plugins enables both {first} and {name} "
                f"for resource type {resource_type}; enable only one"
            )
        plugins[resource_type] = plugin
        owners[resource_type] = name
    return plugins
