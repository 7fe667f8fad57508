"""How the ``climate`` command reaches the service.

Two modes, chosen before the options are parsed (they differ), the
command line first, then the environment:

- **No Keystone** (the embedded service, ``[api] auth_strategy =
  noauth``): ``--endpoint URL``, or ``CLIMATE_URL`` unless the command line
  names Keystone (``--os-cloud``, ``--os-auth-url`` or ``--os-auth-type``).
  The identity is sent as headers: ``--os-project-id``
  (``CLIMATE_PROJECT_ID``, else ``OS_PROJECT_ID``), ``--os-user-id``
  (``CLIMATE_USER_ID``, else ``OS_USER_ID``) and ``--os-roles``
  (``CLIMATE_ROLES``, such as ``admin``).
- **Keystone**: keystoneauth1's standard options for the plugin named by
  ``--os-auth-type`` (default ``password``: ``--os-auth-url``,
  ``--os-username``, ``--os-password``, ``--os-project-name``, ... and
  their ``OS_*`` variables), or a cloud of ``clouds.yaml`` named by
  ``--os-cloud`` / ``OS_CLOUD`` (read by openstacksdk's config loader,
  imported only then).  The endpoint comes from the catalog (service type
  ``reservation``).

Help (``-h``, ``--help``, ``help``) lists the options of both modes.  A
command in the first mode does without keystoneauth1's option loading (a
tenth of a second).
"""

import argparse

from climateclient import exceptions

ENDPOINT_ENV = "CLIMATE_URL"
DEFAULT_AUTH_TYPE = "password"


def _env(environ, *names, default=None):
    for name in names:
        if environ.get(name):
            return environ[name]
    return default


def endpoint_mode(argv, environ):
    """The endpoint if the command line names one, or else if
    ``CLIMATE_URL`` does and the command line names no Keystone; else
    None."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--endpoint")
    for name in _KEYSTONE_SIGNS:
        pre.add_argument(name)
    given, _ = pre.parse_known_args(argv)
    if given.endpoint:
        return given.endpoint
    if any(vars(given).values()):
        return None
    return _env(environ, ENDPOINT_ENV)


#: Options that say "Keystone", even with CLIMATE_URL set.
_KEYSTONE_SIGNS = ("--os-cloud", "--os-auth-url", "--os-auth-type")


def _help_asked(argv):
    return bool({"-h", "--help", "help"} & set(argv))


def register_options(parser, argv, environ):
    """Add the connection options of the mode ``argv`` selects (of both
    when help is asked for)."""
    endpoint = endpoint_mode(argv, environ)
    group = parser.add_argument_group("Service options")
    group.add_argument(
        "--endpoint",
        metavar="<url>",
        default=endpoint,
        help="URL of a Climate without Keystone, such as "
        "http://127.0.0.1:1234 (env: CLIMATE_URL); the identity is then "
        "sent as headers, see --os-project-id",
    )
    group.add_argument(
        "--os-region-name",
        metavar="<region>",
        default=_env(environ, "OS_REGION_NAME"),
        help="Region of the reservation endpoint (env: OS_REGION_NAME)",
    )
    group.add_argument(
        "--os-interface",
        metavar="<interface>",
        default=_env(environ, "OS_INTERFACE", default="public"),
        help="Catalog interface: public, internal or admin (env: "
        "OS_INTERFACE; default: public)",
    )
    group.add_argument(
        "--os-cacert",
        metavar="<ca-bundle>",
        default=_env(environ, "OS_CACERT"),
        help="CA bundle to verify TLS servers with (env: OS_CACERT)",
    )
    group.add_argument(
        "--os-cert",
        metavar="<certificate>",
        default=_env(environ, "OS_CERT"),
        help="Client certificate, PEM (env: OS_CERT)",
    )
    group.add_argument(
        "--os-key",
        metavar="<key>",
        default=_env(environ, "OS_KEY"),
        help="Client certificate key, PEM (env: OS_KEY)",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        default=_env(environ, "OS_INSECURE", default="").lower()
        in ("1", "true", "yes"),
        help="Do not verify TLS certificates (env: OS_INSECURE)",
    )
    group.add_argument(
        "--http-timeout",
        type=float,
        metavar="<seconds>",
        default=_env(environ, "CLIMATE_HTTP_TIMEOUT", default="60"),
        help="Give up on a request after this long (env: "
        "CLIMATE_HTTP_TIMEOUT; default: 60)",
    )
    group.add_argument(
        "--os-roles",
        metavar="<role,...>",
        default=_env(environ, "CLIMATE_ROLES"),
        help="Without Keystone: the roles to claim, such as admin (env: "
        "CLIMATE_ROLES; default: the service's)",
    )
    group.add_argument(
        "--os-cloud",
        metavar="<cloud>",
        default=_env(environ, "OS_CLOUD"),
        help="A cloud of clouds.yaml to take the auth and endpoint "
        "settings from (env: OS_CLOUD)",
    )
    if endpoint and not _help_asked(argv):
        group.add_argument(
            "--os-project-id",
            metavar="<project-id>",
            default=_env(environ, "CLIMATE_PROJECT_ID", "OS_PROJECT_ID"),
            help="Without Keystone: the project to act as (env: "
            "CLIMATE_PROJECT_ID or OS_PROJECT_ID)",
        )
        group.add_argument(
            "--os-user-id",
            metavar="<user-id>",
            default=_env(environ, "CLIMATE_USER_ID", "OS_USER_ID"),
            help="Without Keystone: the user to act as (env: "
            "CLIMATE_USER_ID or OS_USER_ID)",
        )
        return
    _register_auth_plugin(parser, argv, environ, noauth=bool(endpoint))


#: keystoneauth1's options that also name the identity without Keystone.
_NOAUTH_IDENTITY = {
    "project_id": ("project", "CLIMATE_PROJECT_ID"),
    "user_id": ("user", "CLIMATE_USER_ID"),
}


def _register_auth_plugin(parser, argv, environ, noauth=False):
    """keystoneauth1's options for the auth type ``argv`` names.

    Like ``keystoneauth1.loading.register_auth_argparse_arguments``, but
    the defaults come from ``environ`` and every option is spelled with
    hyphens too (keystoneauth1 spells some ``--os-application_credential_id``;
    openstack takes ``--os-application-credential-id``).  ``--os-project-id``
    and ``--os-user-id`` also say who to act as without Keystone; with
    ``noauth`` (an endpoint is named) they default as they do then.
    """
    # Imported here: the noauth mode does without it.
    from keystoneauth1 import exceptions as ks_exceptions
    from keystoneauth1 import loading

    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--os-auth-type", "--os-auth-plugin")
    asked = pre.parse_known_args(argv)[0].os_auth_type or _env(
        environ, "OS_AUTH_TYPE", "OS_AUTH_PLUGIN"
    )
    auth_type = asked or DEFAULT_AUTH_TYPE
    group = parser.add_argument_group(
        "Keystone authentication options",
        f"Options of the {auth_type} auth type (--os-auth-type)",
    )
    group.add_argument(
        "--os-auth-type",
        "--os-auth-plugin",
        metavar="<name>",
        default=auth_type,
        help="keystoneauth1 auth type: password, token, "
        "v3applicationcredential, ... (env: OS_AUTH_TYPE; default: "
        f"{DEFAULT_AUTH_TYPE})",
    )
    # "password" is only our default: a cloud of clouds.yaml keeps its own
    # auth_type unless one is asked for.
    parser.set_defaults(auth_type_asked=bool(asked), auth_type_error=None)
    try:
        loader = loading.get_plugin_loader(auth_type)
    except ks_exceptions.NoMatchingPlugin as exc:
        parser.set_defaults(auth_type_error=str(exc))  # said on first use
        return
    for opt in loader.get_options():
        names = []
        for name in opt.argparse_args:
            for spelling in (name, "--" + name[2:].replace("_", "-")):
                if spelling not in names:
                    names.append(spelling)
        envvars = list(opt.argparse_envvars)
        help_text = f"{opt.help} (env: {envvars[0]})"
        if opt.dest in _NOAUTH_IDENTITY:
            who, variable = _NOAUTH_IDENTITY[opt.dest]
            help_text += (
                f"; without Keystone (--endpoint), the {who} to act as "
                f"(env: {variable} or {envvars[0]})"
            )
            if noauth:
                envvars.insert(0, variable)
        group.add_argument(
            *names,
            dest=f"os_{opt.dest}",
            metavar=f"<{opt.dest.replace('_', '-')}>",
            default=_env(environ, *envvars, default=opt.default),
            help=help_text,
        )


def make_client(options):
    """The ``Client`` the parsed global ``options`` describe.

    :raises ClientException: not enough was given to reach a service.
    """
    from climateclient import client

    if options.endpoint:
        return client.Client(
            endpoint=options.endpoint,
            project_id=options.os_project_id,
            user_id=options.os_user_id,
            roles=_roles(options.os_roles),
            timeout=options.http_timeout,
        )
    if options.os_cloud:
        return _cloud_client(options)
    if options.auth_type_error:
        raise exceptions.AuthenticationFailed(options.auth_type_error)
    if not options.auth_type_asked and not options.os_auth_url:
        raise exceptions.AuthenticationFailed(
            "No service to talk to: give --endpoint (or CLIMATE_URL) for "
            "Climate without Keystone, --os-cloud (or OS_CLOUD) for a cloud "
            "of clouds.yaml, or Keystone credentials (--os-auth-url, "
            "--os-username, ... or the OS_* variables)"
        )
    from keystoneauth1 import exceptions as ks_exceptions
    from keystoneauth1 import loading
    from keystoneauth1 import session as ks_session

    try:
        plugin = loading.load_auth_from_argparse_arguments(options)
    except ks_exceptions.ClientException as exc:
        raise exceptions.AuthenticationFailed(str(exc))
    session = ks_session.Session(
        auth=plugin,
        verify=_verify(options),
        cert=_cert(options),
        timeout=options.http_timeout,
    )
    return client.Client(
        session=session,
        interface=options.os_interface,
        region_name=options.os_region_name,
    )


def _cloud_client(options):
    try:
        from openstack import config as os_config
    except ImportError:
        raise exceptions.AuthenticationFailed(
            "--os-cloud reads clouds.yaml with openstacksdk, which is not "
            "installed: install Climate with its clouds extra "
            "(climate-leases[clouds]) or pip install openstacksdk"
        )

    from climateclient import client

    # Options given on the command line (or OS_* variables) override the
    # cloud's, as with the openstack command.
    given = {
        key: value
        for key, value in vars(options).items()
        if key.startswith("os_")
        and key not in ("os_cloud", "os_roles")
        and value is not None
    }
    if not options.auth_type_asked:
        given.pop("os_auth_type", None)
    if options.insecure:
        given["insecure"] = True
    try:
        region = os_config.OpenStackConfig().get_one(
            cloud=options.os_cloud, argparse=argparse.Namespace(**given)
        )
    except Exception as exc:  # openstacksdk's errors have no common base
        raise exceptions.AuthenticationFailed(
            f"Cannot use cloud {options.os_cloud!r}: {exc}"
        )
    return client.Client(
        session=region.get_session(),
        interface=region.get_interface("reservation"),
        region_name=region.get_region_name("reservation"),
    )


def _roles(text):
    return [r.strip() for r in text.split(",") if r.strip()] if text else None


def _verify(options):
    if options.insecure:
        return False
    return options.os_cacert or True


def _cert(options):
    if options.os_cert and options.os_key:
        return (options.os_cert, options.os_key)
    return options.os_cert
