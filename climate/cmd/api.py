"""``climate-api``: the Lease API alone, talking to managers over RPC."""

from climate.cmd import common, wsgi


def main():
    common.prepare()
    common.require_broker("climate-api")
    common.exit_on_signal()
    wsgi.serve()
