"""Options of the [service_credentials] group: the manager's own identity.

The manager acts on the cloud (Nova's aggregates, hypervisors and servers)
with these credentials, never with a user's token.  They are keystoneauth1's
standard session and auth plugin options; see
``climate.common.service_auth``.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "service_credentials"

service_credentials_group = cfg.OptGroup(
    GROUP,
    title="Service credentials",
    help="Credentials of Climate's manager for the other cloud services "
    "(the nova compute driver).  Set auth_type (usually password) and "
    "that plugin's options, for example auth_url, username, password, "
    "user_domain_name, project_name and project_domain_name.",
)


def register_opts(conf):
    conf.register_group(service_credentials_group)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)


def list_opts():
    # The password plugin's options are listed too, since it is the usual
    # choice; another auth_type registers its own when it is loaded.
    return {
        service_credentials_group: (
            ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options("password")
        )
    }
