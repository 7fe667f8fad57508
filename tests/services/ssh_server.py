"""A real OpenSSH server for the tests: Debian's ``openssh-server``
(``run_tests.sh`` installs it when ``/usr/sbin/sshd`` is missing), run in
the foreground on a free loopback port with a configuration, host key and
authorized keys of its own in the test's folder, stopped by its pid.

It stands in for the OS of a provisioned host.  Two keys may log in as
root: Climate's (``admin_key``, whose authorized_keys file stays) and the
lease user's (``tenant_key``, in a file of its own that sanitizing
removes).  ``sanitize_command`` removes that file and ends the terminal
sessions of this sshd's own children only (``pkill -P <its pid>``), so
nothing else on the machine is touched.
"""

import os
import signal
import socket
import subprocess
import time

import paramiko

from tests import helpers

SSHD = "/usr/sbin/sshd"


def available():
    """None if sshd and ssh-keygen are installed, else why not."""
    for path in (SSHD, "/usr/bin/ssh-keygen"):
        if not os.path.exists(path):
            return f"{path} is not installed (apt-get install openssh-server)"
    return None


class SSHServer:
    """sshd in ``workdir``: ``start()``, then ``stop()``."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.port = helpers.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.admin_key = os.path.join(self.workdir, "admin_key")
        self.tenant_key = os.path.join(self.workdir, "tenant_key")
        self.tenant_keys = os.path.join(self.workdir, "tenant_keys")
        self.log_path = os.path.join(self.workdir, "sshd.log")
        self.process = None

    def start(self, timeout=20):
        os.makedirs(self.workdir, exist_ok=True)
        for name in ("host_key", "admin_key", "tenant_key"):
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-f",
                    os.path.join(self.workdir, name),
                ],
                check=True,
            )
        with (
            open(self.admin_key + ".pub") as source,
            open(os.path.join(self.workdir, "admin_keys"), "w") as target,
        ):
            target.write(source.read())
        self.grant_tenant()
        config = os.path.join(self.workdir, "sshd_config")
        with open(config, "w") as out:
            out.write(
                f"Port {self.port}\n"
                "ListenAddress 127.0.0.1\n"
                f"HostKey {self.workdir}/host_key\n"
                f"PidFile {self.workdir}/sshd.pid\n"
                f"AuthorizedKeysFile {self.workdir}/admin_keys "
                f"{self.tenant_keys}\n"
                "StrictModes no\n"
                "UsePAM no\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "PermitRootLogin prohibit-password\n"
                "PrintMotd no\n"
                "PrintLastLog no\n"
                "LogLevel VERBOSE\n"
            )
        # sshd refuses to start without its privilege separation folder.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", config],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"sshd did not listen: {self.log()}")

    def grant_tenant(self):
        """Let the tenant's key log in (again)."""
        with (
            open(self.tenant_key + ".pub") as source,
            open(self.tenant_keys, "w") as target,
        ):
            target.write(source.read())

    @property
    def sanitize_command(self):
        return (
            f"rm -f {self.tenant_keys}; "
            f"pkill -KILL -P {self.process.pid} -f '@pts/'; true"
        )

    def tenant_session(self):
        """Log in as the tenant with a terminal, as a user would; return
        the open client (close it to log out)."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507
        client.connect(
            "127.0.0.1",
            port=self.port,
            username="root",
            key_filename=self.tenant_key,
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )
        shell = client.invoke_shell()
        shell.send(b"echo logged-in\n")
        deadline = time.monotonic() + 10
        seen = b""
        while b"logged-in" not in seen and time.monotonic() < deadline:
            if shell.recv_ready():
                seen += shell.recv(4096)
            else:
                time.sleep(0.05)
        return client

    def wait_logged_out(self, timeout=10):
        """Wait until no terminal session is open on this sshd, then into
        the next second: wtmp keeps times to the second, and a session
        that ended in the second a lease starts overlaps it."""
        deadline = time.monotonic() + timeout
        while subprocess.run(
            ["pgrep", "-P", str(self.process.pid), "-f", "@pts/"],
            capture_output=True,
        ).stdout.strip():
            if time.monotonic() > deadline:
                raise RuntimeError("tenant sessions still open")
            time.sleep(0.05)
        time.sleep(1.1 - time.time() % 1)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        # Sessions left open are this sshd's children: end them by pid.
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)],
            capture_output=True,
            text=True,
        ).stdout.split()
        for child in children:
            try:
                os.kill(int(child), signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._log.close()
