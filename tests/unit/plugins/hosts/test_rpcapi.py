"""The host plugin's RPC methods, in their own namespace, through the
in-process client to the manager of this process."""

import oslo_messaging as messaging
import pytest

from climate import context, exceptions
from climate.manager import rpcapi as manager_rpcapi
from climate.manager import service
from climate.plugins.hosts import endpoint, images, rpcapi


@pytest.fixture
def manager(database, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _admin():
    return context.RequestContext.admin()


def test_the_manager_serves_the_plugin_endpoint_beside_its_own(manager):
    assert [type(e) for e in manager.endpoints] == [
        service.ManagerEndpoint,
        endpoint.HostEndpoint,
        images.ProvisioningEndpoint,
    ]
    assert manager.endpoints[1].target.namespace == "physical_host"
    assert manager.endpoints[2].target.namespace == "provisioning"


def test_host_methods_answer_in_the_plugin_namespace(manager):
    hosts = rpcapi.HostAPI()
    host = hosts.create_host(_admin(), {"name": "h1", "gpu": "a100"})
    assert host["hypervisor_hostname"] == "h1"
    assert hosts.update_host(_admin(), host["id"], {"gpu": "h100"})[
        "capabilities"
    ] == {"gpu": "h100"}
    assert hosts.update_host_property(_admin(), "gpu", {"private": True}) == {
        "property": "gpu",
        "private": True,
        "values": ["h100"],
    }
    hosts.delete_host(_admin(), host["id"])
    with pytest.raises(exceptions.HostNotFound):
        hosts.delete_host(_admin(), host["id"])


def test_the_manager_namespace_no_longer_has_host_methods(manager):
    client = manager_rpcapi.ManagerAPI()._client.prepare(version="2.0")
    with pytest.raises(messaging.RemoteError) as info:
        client.call(_admin(), "create_host", values={"name": "h1"})
    assert info.value.exc_type == "NoSuchMethod"
    # A client of the manager's API 1.1, which had them, is refused.
    old = manager_rpcapi.ManagerAPI()._client.prepare(version="1.1")
    with pytest.raises(messaging.RemoteError) as info:
        old.call(_admin(), "create_host", values={"name": "h1"})
    assert info.value.exc_type == "UnsupportedVersion"


def test_without_the_plugin_its_namespace_is_not_served(database, config):
    config.config(plugins=["test.recorder.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    try:
        with pytest.raises(messaging.RemoteError) as info:
            rpcapi.HostAPI().create_host(_admin(), {"name": "h1"})
        assert info.value.exc_type == "UnsupportedVersion"
    finally:
        manager.stop()
