"""Loading resource plugins through their entry points (climate.plugins)."""

import climate_test_plugins
import oslo_messaging
import pytest
from oslo_config import cfg

from climate import context, exceptions, plugins
from climate.common import service_auth
from climate.manager import rpcapi, service
from climate.plugins import base
from climate.plugins.hosts import plugin as host_plugin


def _admin():
    return context.RequestContext.admin()


def test_recorder_loads_by_name():
    loaded = plugins.load(["test.recorder.plugin"])
    assert list(loaded) == ["test:recorder"]
    plugin = loaded["test:recorder"]
    assert isinstance(plugin, climate_test_plugins.RecorderPlugin)
    assert isinstance(plugin, base.ResourcePlugin)


def test_no_plugins_is_fine():
    assert plugins.load([]) == {}


def test_a_name_given_twice_loads_once():
    loaded = plugins.load(["test.recorder.plugin", "test.recorder.plugin"])
    assert list(loaded) == ["test:recorder"]


def test_each_load_makes_new_instances():
    first = plugins.load(["test.recorder.plugin"])["test:recorder"]
    second = plugins.load(["test.recorder.plugin"])["test:recorder"]
    assert first is not second


def test_unknown_name_is_named_with_the_installed_ones():
    with pytest.raises(exceptions.ConfigurationError) as info:
        plugins.load(["test.recorder.plugin", "no.such.plugin"])
    message = info.value.message
    assert "no.such.plugin" in message
    assert "is not installed" in message
    assert "test.recorder.plugin" in message
    assert "test.recorder2.plugin" in message


def test_several_unknown_names_are_all_named():
    with pytest.raises(exceptions.ConfigurationError) as info:
        plugins.load(["nope.one", "nope.two"])
    assert "nope.one, nope.two" in info.value.message
    assert "are not installed" in info.value.message


def test_two_plugins_for_one_resource_type_are_refused():
    with pytest.raises(exceptions.ConfigurationError) as info:
        plugins.load(["test.recorder.plugin", "test.recorder2.plugin"])
    message = info.value.message
    assert "test.recorder.plugin" in message
    assert "test.recorder2.plugin" in message
    assert "test:recorder" in message


# Classes, without instances (the API process) ------------------------------


def test_classes_gives_classes_and_builds_nothing(config):
    # Building the host plugin with the nova driver and no credentials
    # fails (see below): loading its class must not.
    service_auth.reset()
    config.config(driver="nova", group="compute")
    loaded = plugins.classes(["physical.host.plugin", "test.recorder.plugin"])
    assert loaded == {
        "physical:host": host_plugin.PhysicalHostPlugin,
        "test:recorder": climate_test_plugins.RecorderPlugin,
    }
    service_auth.reset()


def test_classes_refuses_what_load_refuses():
    with pytest.raises(exceptions.ConfigurationError) as info:
        plugins.classes(["test.recorder.plugin", "no.such.plugin"])
    assert "no.such.plugin" in info.value.message
    assert "is not installed" in info.value.message
    with pytest.raises(exceptions.ConfigurationError) as info:
        plugins.classes(["test.recorder.plugin", "test.recorder2.plugin"])
    assert "test:recorder" in info.value.message


def test_loading_a_class_registers_its_options(config):
    plugins.classes(["physical.host.plugin"])
    assert cfg.CONF["physical:host"].cleaning_time == 0
    config.config(cleaning_time=5, group="physical:host")
    assert cfg.CONF["physical:host"].cleaning_time == 5


def test_installed_lists_every_plugin_enabled_or_not():
    installed = plugins.installed()
    assert installed["physical.host.plugin"] is host_plugin.PhysicalHostPlugin
    assert installed["test.recorder2.plugin"] is (
        climate_test_plugins.SecondRecorderPlugin
    )
    assert list(installed) == sorted(installed)


def test_the_base_class_keeps_at_most_eight_abstract_methods():
    assert len(base.ResourcePlugin.__abstractmethods__) <= 8


def test_manager_refuses_to_start_with_an_unknown_plugin(config):
    config.config(plugins=["no.such.plugin"], group="manager")
    with pytest.raises(exceptions.ConfigurationError) as info:
        service.ManagerService()
    assert "no.such.plugin" in info.value.message
    assert "test.recorder.plugin" in info.value.message
    # Nothing was left answering RPC calls.
    with pytest.raises(oslo_messaging.MessagingTimeout):
        rpcapi.ManagerAPI().list_leases(_admin(), {})


def test_manager_refuses_two_plugins_for_one_resource_type(config):
    config.config(
        plugins=["test.recorder.plugin", "test.recorder2.plugin"],
        group="manager",
    )
    with pytest.raises(exceptions.ConfigurationError) as info:
        service.ManagerService()
    assert "test.recorder.plugin" in info.value.message
    assert "test.recorder2.plugin" in info.value.message


def test_manager_starts_with_the_configured_plugins(database, config):
    config.config(plugins=["test.recorder.plugin"], group="manager")
    manager = service.ManagerService()
    assert set(manager.plugins) == {"test:recorder"}
    manager.start()
    try:
        assert rpcapi.ManagerAPI().list_leases(_admin(), {}) == []
    finally:
        manager.stop()
    with pytest.raises(oslo_messaging.MessagingTimeout):
        rpcapi.ManagerAPI().list_leases(_admin(), {})


def test_manager_with_the_nova_driver_refuses_to_start_without_credentials(
    database, config
):
    service_auth.reset()
    config.config(plugins=["physical.host.plugin"], group="manager")
    config.config(driver="nova", group="compute")
    with pytest.raises(exceptions.ConfigurationError) as info:
        service.ManagerService()
    assert "[service_credentials] auth_type is not set" in (info.value.message)
    service_auth.reset()
