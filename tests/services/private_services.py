"""A RabbitMQ node, a PostgreSQL cluster and a MariaDB server of a test's
own.

The outage tests kill and restart them, so they must never be the
machine's shared ones: each has its own node name or data folder, its own
ports on loopback, and is stopped by its pid.  Used by
``tests/services/test_outages.py`` and ``bench/outage.py``.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

RABBIT_BIN = "/usr/lib/rabbitmq/bin"


#: The machine's temporary folder, not $TMPDIR: run_tests.sh points
#: $TMPDIR at a folder only its user may enter, and these servers run as
#: another user (postgres, mysql) that must reach its data folder.
MACHINE_TMP = "/tmp"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def _wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen in {timeout} s")
        time.sleep(0.05)


class PrivateRabbit:
    """A RabbitMQ node in ``folder``: ``start()``, ``kill()`` (SIGKILL),
    ``start()`` again on the same ports and data."""

    def __init__(self, folder):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"climate{os.getpid()}{self.port}@localhost"
        with open(os.path.join(self.folder, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        with open(os.path.join(self.folder, "rabbitmq.conf"), "w") as f:
            f.write("loopback_users = none\n")
        self.process = None
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    @staticmethod
    def available():
        return os.path.exists(os.path.join(RABBIT_BIN, "rabbitmq-server"))

    def _env(self):
        env = dict(os.environ)
        env.update(
            HOME=self.folder,
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=os.path.join(self.folder, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.folder, "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(
                self.folder, "enabled_plugins"
            ),
            RABBITMQ_CONFIG_FILE=os.path.join(self.folder, "rabbitmq"),
            RABBITMQ_PID_FILE=os.path.join(self.folder, "pid"),
        )
        return env

    def start(self, timeout=90):
        log = open(os.path.join(self.folder, "server.log"), "ab")
        self.process = subprocess.Popen(
            [os.path.join(RABBIT_BIN, "rabbitmq-server")],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(
            lambda: self._check_alive() and _accepts(self.port),
            timeout,
            "RabbitMQ to accept connections",
        )

    def _check_alive(self):
        if self.process.poll() is not None:
            with open(os.path.join(self.folder, "server.log")) as log:
                raise RuntimeError(f"rabbitmq-server exited:\n{log.read()}")
        return True

    def _beam_pid(self):
        try:
            with open(os.path.join(self.folder, "pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill(self):
        """``kill -9`` the node (the Erlang VM and the script that ran it)."""
        pids = [self._beam_pid(), self.process.pid if self.process else None]
        for pid in filter(None, pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.wait(10)
        _wait_until(lambda: not _accepts(self.port), 10, "RabbitMQ to go")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.kill()
        # epmd, shared by the machine, forgets the node by itself.
        shutil.rmtree(self.folder, ignore_errors=True)


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of its own (``initdb`` in a temporary
    folder, trust authentication, its own port): ``start()``,
    ``stop_immediately()`` (``pg_ctl stop -m immediate``), ``start()``."""

    def __init__(self):
        self.bin = _postgres_bin()
        # Under /tmp: the server may run as another user (initdb refuses
        # root), who must reach the folder.
        self.folder = tempfile.mkdtemp(prefix="climate-pg-", dir=MACHINE_TMP)
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        self._user = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            self.data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.folder}'\n"
                "fsync = off\nmax_connections = 200\n"
            )
        self.admin_url = (
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        )

    @staticmethod
    def available():
        return _postgres_bin() is not None

    def _run(self, tool, *args):
        command = [os.path.join(self.bin, tool), *args]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} failed: {result.stdout}\n{result.stderr}"
            )

    def start(self):
        self._run(
            "pg_ctl",
            "-D",
            self.data,
            "-l",
            os.path.join(self.folder, "server.log"),
            "-w",
            "start",
        )

    def stop_immediately(self):
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")

    def create_database(self, name):
        """Create database ``name``; return its SQLAlchemy URL."""
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        )
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.stop_immediately()
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"


class PrivateMariaDB:
    """A MariaDB server of its own (``mariadb-install-db`` into a
    temporary folder, its own port and socket, no grant tables: only this
    test reaches it, on loopback): ``start()``, ``kill()`` (SIGKILL of
    its pid, as a crash), ``start()`` again on the same data."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(
            prefix="climate-mariadb-", dir=MACHINE_TMP
        )
        self.data = os.path.join(self.folder, "data")
        self.socket = os.path.join(self.folder, "mariadb.sock")
        self.port = free_port()
        self.process = None
        self._user = None
        if os.geteuid() == 0:
            # mariadbd refuses to run as root unless told to; run it as
            # the machine's mysql user, who must reach the folder.
            self._user = "mysql"
            entry = pwd.getpwnam(self._user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        command = [
            MARIADB_INSTALL_DB,
            "--no-defaults",
            f"--datadir={self.data}",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
        ]
        if self._user:
            command.append(f"--user={self._user}")
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=180,
            env=self._env(),
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed: {result.stdout}\n{result.stderr}"
            )
        self.admin_url = f"mysql+pymysql://root@127.0.0.1:{self.port}/"

    def _env(self):
        # Its own folder for temporary files: $TMPDIR (run_tests.sh's
        # folder) is root's alone and mariadbd runs as mysql.
        return dict(os.environ, TMPDIR=self.folder)

    @staticmethod
    def available():
        return os.path.exists(MARIADBD) and os.path.exists(MARIADB_INSTALL_DB)

    def start(self, timeout=60):
        command = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.data}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket}",
            f"--pid-file={os.path.join(self.folder, 'mariadb.pid')}",
            f"--log-error={os.path.join(self.folder, 'error.log')}",
            "--skip-grant-tables",
            "--skip-name-resolve",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-buffer-pool-size=64M",
            "--max-connections=200",
        ]
        if self._user:
            command.append(f"--user={self._user}")
        self.process = subprocess.Popen(
            command,
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mariadbd exited with {self.process.returncode}; see "
                    f"{os.path.join(self.folder, 'error.log')}"
                )
            return _accepts(self.port)

        _wait_until(ready, timeout, f"mariadbd accepting on {self.port}")

    def kill(self):
        """SIGKILL the server, by its pid, and wait for it to be gone."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        _wait_until(lambda: not _accepts(self.port), 10, "mariadbd gone")

    def create_database(self, name):
        """Create database ``name``; return its SQLAlchemy URL."""
        import pymysql

        connection = pymysql.connect(
            host="127.0.0.1", port=self.port, user="root"
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
                )
        finally:
            connection.close()
        return self.admin_url + name

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)
