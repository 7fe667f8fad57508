"""A real Keystone for the tests: installed from PyPI into the test
environment (the ``keystone`` package of setup.cfg's ``test`` extra), on
SQLite, served by gunicorn on a free loopback port.

gunicorn is started with no command-line arguments: it reads
``gunicorn.conf.py`` from its working directory, which names the WSGI
application keystone's release provides
(``keystone.server.wsgi:initialize_public_application``, a factory) and
the configuration file to load.  The server is stopped by its pid.
"""

import grp
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time

import requests

from tests import helpers

BIN = os.path.dirname(sys.executable)
ADMIN_PASSWORD = "admin-secret"  # noqa: S105  (a throwaway test server)
REGION = "RegionOne"


def available():
    """None if Keystone and gunicorn are installed, else why not."""
    for command in ("keystone-manage", "gunicorn"):
        if not os.path.exists(os.path.join(BIN, command)):
            return f"{command} is not installed in {BIN}"
    return None


class KeystoneServer:
    """Keystone in ``workdir``: set up by ``start()``, ended by ``stop()``.

    :param token_expiration: seconds a token lives; short, so a test can
        watch one expire.
    """

    def __init__(self, workdir, token_expiration=3600):
        self.workdir = str(workdir)
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = f"{self.url}/v3"
        self.token_expiration = token_expiration
        self.config_file = os.path.join(self.workdir, "keystone.conf")
        self.log_path = os.path.join(self.workdir, "gunicorn.log")
        self.process = None
        self._log = None

    # Setting up -------------------------------------------------------------

    def start(self, timeout=120):
        os.makedirs(self.workdir, exist_ok=True)
        self._write_config()
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        owner = ["--keystone-user", user, "--keystone-group", group]
        self._manage("db_sync")
        self._manage("fernet_setup", *owner)
        self._manage("credential_setup", *owner)
        self._manage(
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-admin-url",
            self.auth_url,
            "--bootstrap-internal-url",
            self.auth_url,
            "--bootstrap-public-url",
            self.auth_url,
            "--bootstrap-region-id",
            REGION,
        )
        self._write_gunicorn_config()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [os.path.join(BIN, "gunicorn")],
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self._env(),
        )
        self._wait(timeout)

    def _env(self):
        env = dict(os.environ)
        env["OS_KEYSTONE_CONFIG_FILES"] = self.config_file
        return env

    def _write_config(self):
        path = self.workdir
        helpers.write_config(
            self.config_file,
            {
                "DEFAULT": {"use_stderr": "true"},
                "database": {
                    "connection": f"sqlite:///{path}/keystone.sqlite"
                },
                "fernet_tokens": {"key_repository": f"{path}/fernet-keys"},
                "fernet_receipts": {"key_repository": f"{path}/fernet-keys"},
                "credential": {"key_repository": f"{path}/credential-keys"},
                "token": {"expiration": self.token_expiration},
                # bcrypt's cheapest cost: users log in on every test.
                "identity": {"password_hash_rounds": 4},
                "cache": {"enabled": "false"},
            },
        )

    def _write_gunicorn_config(self):
        with open(os.path.join(self.workdir, "gunicorn.conf.py"), "w") as f:
            f.write(
                textwrap.dedent(
                    f"""\
                    # Read by gunicorn from its working directory.
                    wsgi_app = (
                        "keystone.server.wsgi:initialize_public_application()"
                    )
                    bind = "127.0.0.1:{self.port}"
                    workers = 1
                    worker_class = "gthread"
                    threads = 4
                    timeout = 120
                    raw_env = ["OS_KEYSTONE_CONFIG_FILES={self.config_file}"]
                    # Not ~/.gunicorn/gunicorn.ctl, which two servers share.
                    control_socket_disable = True
                    """
                )
            )

    def _manage(self, *args):
        result = subprocess.run(
            [
                os.path.join(BIN, "keystone-manage"),
                "--config-file",
                self.config_file,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.workdir,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"keystone-manage {args[0]} failed:\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}:\n"
                    f"{self.log()[-4000:]}"
                )
            try:
                if requests.get(self.auth_url, timeout=30).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Keystone did not answer at {self.auth_url}")

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop(self, timeout=15):
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()

    # The Identity API -------------------------------------------------------

    def token(self, username, password, project, domain="default"):
        """A project-scoped token of ``username``: ``(token, body)``."""
        response = requests.post(
            f"{self.auth_url}/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": username,
                                "domain": {"id": domain},
                                "password": password,
                            }
                        },
                    },
                    "scope": {
                        "project": {"name": project, "domain": {"id": domain}}
                    },
                }
            },
            timeout=30,
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"no token for {username}: {response.status_code} "
                f"{response.text}"
            )
        return response.headers["X-Subject-Token"], response.json()["token"]

    def admin_token(self):
        return self.token("admin", ADMIN_PASSWORD, "admin")[0]

    def _call(self, method, path, body=None, expect=(200, 201, 204)):
        response = requests.request(
            method,
            f"{self.auth_url}{path}",
            json=body,
            headers={"X-Auth-Token": self.admin_token()},
            timeout=30,
        )
        if response.status_code not in expect:
            raise RuntimeError(
                f"{method} {path}: {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def _role_id(self, name):
        roles = self._call("GET", f"/roles?name={name}")["roles"]
        if roles:
            return roles[0]["id"]
        return self._call("POST", "/roles", {"role": {"name": name}})["role"][
            "id"
        ]

    def project(self, name):
        """Create a project in the Default domain; return its id."""
        body = {"project": {"name": name, "domain_id": "default"}}
        return self._call("POST", "/projects", body)["project"]["id"]

    def user(self, name, password, project_id, roles):
        """Create a user with ``roles`` on a project; return its id."""
        body = {
            "user": {
                "name": name,
                "password": password,
                "domain_id": "default",
                "default_project_id": project_id,
            }
        }
        user_id = self._call("POST", "/users", body)["user"]["id"]
        for role in roles:
            self._call(
                "PUT",
                f"/projects/{project_id}/users/{user_id}/roles/"
                f"{self._role_id(role)}",
            )
        return user_id

    def revoke(self, token):
        """Revoke a token (``DELETE /v3/auth/tokens``)."""
        response = requests.delete(
            f"{self.auth_url}/auth/tokens",
            headers={
                "X-Auth-Token": self.admin_token(),
                "X-Subject-Token": token,
            },
            timeout=30,
        )
        if response.status_code != 204:
            raise RuntimeError(f"revoking: {response.status_code}")
