"""The ``climate`` command line (cliff) and the commands it shares with
the OpenStackClient plugin."""
