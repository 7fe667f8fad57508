"""Python client and ``climate`` command line for the Climate lease service.

``climateclient.client.Client`` speaks the reservation API v1; the
``climate`` command (``climateclient.cli``) and the OpenStackClient plugin
(``climateclient.osc``) are built on it.
"""

__all__ = ["Client"]


def __getattr__(name):
    # Imported on first use: the climate command's help, argument errors
    # and version need neither keystoneauth1 nor requests.
    if name == "Client":
        from climateclient.client import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
