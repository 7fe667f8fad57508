"""Python client and ``climate`` command line for the Climate lease service.

``climateclient.client.Client`` speaks the reservation API v1; the
``climate`` command (``climateclient.cli``) and the OpenStackClient plugin
(``climateclient.osc``) are built on it.
"""

from climateclient.client import Client

__all__ = ["Client"]
