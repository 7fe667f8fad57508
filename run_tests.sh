#!/usr/bin/env bash
# Install Climate with its test dependencies into .venv and run the whole
# test suite: unit, functional (real climate processes over HTTP) and service
# tests (the real PostgreSQL, MariaDB and RabbitMQ on 127.0.0.1).
#
#   ./run_tests.sh                                      everything
#   ./run_tests.sh -m "not services and not functional" the quick part
#
# Extra arguments go to pytest.  The service tests create uniquely named
# databases and vhosts and drop them afterwards.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*"; }

python=${PYTHON:-python3}
# uv is installed into the project's .venv, never into the machine's Python.
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$python" -m venv .venv
fi
uv=.venv/bin/uv
if [ ! -x "$uv" ]; then
    log "installing uv into .venv"
    # A .venv made by uv has no pip; the standard library can add it.
    .venv/bin/python -m pip --version >/dev/null 2>&1 ||
        .venv/bin/python -m ensurepip --upgrade >/dev/null
    .venv/bin/python -m pip install --quiet uv
fi

# Everything written to the temporary folder during the run (pytest's
# tmp_path, the processes the tests start, uv's builds) goes into one
# folder of this run: removed after a green run, kept after a failing one.
base_tmp=${TMPDIR:-/tmp}
run_tmp=$(mktemp -d "$base_tmp/climate-tests.XXXXXX")
finish() {
    local status=$?
    if [ "$status" = 0 ]; then
        rm -rf "$run_tmp"
    else
        log "the test run's temporary files are kept in $run_tmp"
    fi
}
trap finish EXIT
export TMPDIR=$run_tmp

log "installing Climate and its test dependencies into .venv"
export VIRTUAL_ENV=$PWD/.venv
# The distribution was named "climate" before; an install of that name
# left in .venv would register every entry point twice.
if .venv/bin/python -c 'import importlib.metadata as m; m.distribution("climate")' 2>/dev/null; then
    "$uv" pip uninstall --quiet climate
fi
"$uv" pip install --quiet -e ".[test]"
unset VIRTUAL_ENV

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_service() {  # name port start-command...
    local name=$1 port=$2
    shift 2
    if tcp_open "$port"; then
        return 0
    fi
    log "starting $name"
    # The machine's temporary folder: the service outlives this run's.
    TMPDIR=$base_tmp "$@" >/dev/null 2>&1 || true
    for _ in $(seq 120); do
        tcp_open "$port" && return 0
        sleep 0.5
    done
    log "WARNING: $name is not listening on 127.0.0.1:$port; its tests will fail"
}

wants_services=1
case " $* " in
    *"not services"*) wants_services=0 ;;
esac
if [ "$wants_services" = 1 ]; then
    ensure_service PostgreSQL 5432 \
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql 2>/dev/null | head -1)" main start
    ensure_service MariaDB 3306 \
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    ensure_service RabbitMQ 5672 rabbitmq-server -detached

    # The provisioning tests stand a real sshd up for a host's OS
    # (tests/services/ssh_server.py) and a real Ironic in an environment
    # of its own (tests/services/ironic_server.py).
    if [ ! -x /usr/sbin/sshd ]; then
        if [ "$(id -u)" = 0 ]; then
            log "installing openssh-server"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null ||
                log "WARNING: openssh-server did not install; the ssh tests will fail"
        else
            log "WARNING: /usr/sbin/sshd is missing and only root can install openssh-server"
        fi
    fi
    if ! .ironic-venv/bin/python -c 'import ironic' 2>/dev/null; then
        log "installing Ironic into .ironic-venv"
        [ -x .ironic-venv/bin/python ] ||
            "$uv" venv --quiet --python "$python" .ironic-venv
        VIRTUAL_ENV=$PWD/.ironic-venv "$uv" pip install --quiet \
            -r tests/services/ironic-requirements.txt ||
            log "WARNING: Ironic did not install; the Ironic tests will fail"
    fi
fi

# The web calendar's test (tests/functional/test_calendar.py) drives
# Debian's chromium with Playwright; Playwright's own browser download is
# not used.
case " $* " in
    *"not functional"*) ;;
    *)
        if [ ! -x /usr/bin/chromium ]; then
            if [ "$(id -u)" = 0 ]; then
                log "installing chromium"
                DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
                    log "WARNING: chromium did not install; the calendar test will fail"
            else
                log "WARNING: /usr/bin/chromium is missing and only root can install chromium"
            fi
        fi
        ;;
esac

log "running the tests"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
fi
exit "$status"
