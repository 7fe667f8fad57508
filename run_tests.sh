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
if ! command -v uv >/dev/null 2>&1; then
    log "installing uv"
    "$python" -m pip install --quiet uv
fi
uv=$(command -v uv || echo "$("$python" -m site --user-base)/bin/uv")

log "installing Climate and its test dependencies into .venv"
[ -x .venv/bin/python ] || "$uv" venv --quiet --python "$python" .venv
VIRTUAL_ENV=$PWD/.venv "$uv" pip install --quiet -e ".[test]"

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_service() {  # name port start-command...
    local name=$1 port=$2
    shift 2
    if tcp_open "$port"; then
        return 0
    fi
    log "starting $name"
    "$@" >/dev/null 2>&1 || true
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
fi

log "running the tests"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
fi
exit "$status"
