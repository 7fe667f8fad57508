"""The ``ssh`` OS module: a host's OS is ready when sshd answers and the
checks pass; logins and sanitizing are remote commands.

``post_load`` tries to log in (``[ssh] user`` with ``key_file``) until
``[ssh] boot_timeout`` (growing with the attempt) passes, then runs each
``[ssh] checks`` command; all must exit 0.  ``logged_in`` runs
``login_check_command`` (exit 0: the tenant logged in since the lease
began; 1: not), and ``sanitize`` runs ``sanitize_command``.  The commands
are templates: ``{since}`` is the lease's start in seconds since the epoch,
``{since_utc}`` the same as ``YYYY-MM-DD HH:MM:SS`` in UTC, and
``{tenant_user}`` is ``[ssh] tenant_user``.  A host's address may carry a
port (``192.0.2.7:2222``); otherwise ``[ssh] port`` is used.
"""

import calendar
import time

import paramiko
from oslo_config import cfg
from oslo_log import log as logging

from climate import clock
from climate.provisioning import base

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

_RETRY_PAUSE = 1.0


class SSHModule(base.OSModule):
    """Checks, login detection and sanitizing over SSH."""

    name = "ssh"

    def post_load(self, host, image, attempt):
        if not host.address:
            return base.Outcome(
                base.FATAL, f"host {host.name} has no address to reach"
            )
        began = time.monotonic()
        wait = base.timeout(CONF.ssh.boot_timeout, attempt)
        deadline = began + wait
        last_error = "never tried"
        while True:
            try:
                with self._connect(host, deadline - time.monotonic()) as ssh:
                    for command in CONF.ssh.checks:
                        status, output = _run(ssh, command)
                        if status != 0:
                            return base.Outcome(
                                base.RETRY,
                                f"check {command!r} exited {status}: "
                                f"{output[-200:]}",
                                time.monotonic() - began,
                                clock.now(),
                            )
                    return base.Outcome(
                        base.READY,
                        duration=time.monotonic() - began,
                        finished_at=clock.now(),
                    )
            except (OSError, paramiko.SSHException, EOFError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + _RETRY_PAUSE >= deadline:
                return base.Outcome(
                    base.RETRY,
                    f"sshd of {host.name} at {host.address} did not let "
                    f"Climate in within {wait:.0f} s ({last_error})",
                    time.monotonic() - began,
                    clock.now(),
                )
            time.sleep(_RETRY_PAUSE)

    def logged_in(self, host, since):
        command = CONF.ssh.login_check_command.format(
            since=calendar.timegm(since.utctimetuple()),
            since_utc=since.strftime("%Y-%m-%d %H:%M:%S"),
            tenant_user=CONF.ssh.tenant_user,
        )
        try:
            with self._connect(host, CONF.ssh.command_timeout) as ssh:
                status, output = _run(ssh, command)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            LOG.warning(
                "cannot tell whether a user logged in on %s: %s",
                host.name,
                exc,
            )
            return None
        if status in (0, 1):
            return status == 0
        LOG.warning(
            "login check on %s exited %d: %s", host.name, status, output[-200:]
        )
        return None

    def sanitize(self, host):
        command = CONF.ssh.sanitize_command.format(
            tenant_user=CONF.ssh.tenant_user
        )
        try:
            with self._connect(host, CONF.ssh.command_timeout) as ssh:
                status, output = _run(ssh, command)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            return base.Outcome(base.RETRY, f"{type(exc).__name__}: {exc}")
        if status != 0:
            return base.Outcome(
                base.FATAL,
                f"sanitize command exited {status}: {output[-200:]}",
            )
        return base.Outcome(base.READY, finished_at=clock.now())

    def _connect(self, host, timeout):
        address, port = split_address(host.address)
        client = paramiko.SSHClient()
        if CONF.ssh.known_hosts_file:
            client.load_host_keys(CONF.ssh.known_hosts_file)
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            # A freshly loaded host has a new host key every time.
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507
        timeout = max(timeout, 1.0)
        key_file = CONF.ssh.key_file
        client.connect(
            address,
            port=port,
            username=CONF.ssh.user,
            key_filename=key_file,
            allow_agent=key_file is None,
            look_for_keys=key_file is None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        return client


def split_address(address):
    """``(host, port)`` of ``address``, which may end with ``:port``."""
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and host and ":" not in host:
        return host, int(port)
    return address, CONF.ssh.port


def _run(ssh, command):
    """Run ``command``; return ``(exit status, output)``."""
    stdin, stdout, stderr = ssh.exec_command(
        command, timeout=CONF.ssh.command_timeout
    )
    stdin.close()
    try:
        output = stdout.read() + stderr.read()
        status = stdout.channel.recv_exit_status()
    except TimeoutError:
        return 124, "timed out"
    return status, output.decode(errors="replace")
