"""The manager's own keystoneauth1 session from [service_credentials].
(tests/services/test_keystone.py gets a real token with it.)"""

import pytest
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

from climate import exceptions
from climate.common import service_auth

GROUP = "service_credentials"


@pytest.fixture(autouse=True)
def fresh(config):
    # The password plugin's options, as keystoneauth1 registers them when
    # it loads the plugin, so that the test can set them first.
    config.register_opts(
        ks_loading.get_auth_plugin_conf_options("password"), group=GROUP
    )
    service_auth.reset()
    yield
    service_auth.reset()


@pytest.fixture
def credentials(config):
    config.config(
        auth_type="password",
        auth_url="https://keystone.example.org/identity/v3",
        username="climate",
        password="secret",
        user_domain_name="Default",
        project_name="service",
        project_domain_name="Default",
        timeout=7,
        insecure=True,
        group=GROUP,
    )


def _error():
    with pytest.raises(exceptions.ConfigurationError) as caught:
        service_auth.get_session()
    return caught.value.message


def test_one_session_is_built_from_the_options(credentials):
    session = service_auth.get_session()

    assert isinstance(session, ks_session.Session)
    assert isinstance(session.auth, generic.Password)
    assert session.auth.auth_url == "https://keystone.example.org/identity/v3"
    assert session.auth._project_name == "service"
    assert session.auth._username == "climate"
    assert session.auth._password == "secret"
    assert session.timeout == 7
    assert session.verify is False
    # Reused, not rebuilt: keystoneauth1 renews its token itself.
    assert service_auth.get_session() is session


def test_without_credentials_the_error_names_auth_type():
    message = _error()

    assert message.startswith("[service_credentials] auth_type is not set")
    assert "auth_url, username, password" in message


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("auth_url", "[service_credentials] auth_url is not set"),
        ("username", "[service_credentials] username or user_id is not set"),
        ("password", "[service_credentials] password is not set"),
    ],
)
def test_a_missing_password_option_is_named(config, credentials, unset, named):
    config.config(**{unset: None}, group=GROUP)

    assert _error().startswith(named)


def test_an_unknown_auth_type_is_named(config, credentials):
    config.config(auth_type="pasword", group=GROUP)

    assert "auth_type 'pasword' is not a keystoneauth1 auth plugin" in (
        _error()
    )


def test_the_options_are_listed_for_the_sample_config():
    from climate.conf import opts

    (listed,) = [
        names
        for group, names in opts.list_opts()
        if getattr(group, "name", group) == GROUP
    ]
    names = {opt.name for opt in listed}
    assert {"auth_type", "auth_section", "cafile", "timeout"} <= names
    assert {"auth-url", "username", "password", "project-name"} <= names
