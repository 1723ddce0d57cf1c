#!/usr/bin/env bash
# Runs independent third-party Mesos scheduler libraries, unmodified, against
# `plinth-testkit master --mode process`: each subscribes, launches one
# command task, acknowledges its updates and waits for TASK_FINISHED.
#
#   testkit/compat/run.sh [CLIENT...]
#
# Clients: python-pymesos go-mesos-go-protobuf go-mesos-go-json
#          node-mesos-framework python-mesoshttp python-avmesos (default: all)
#
# Everything the clients need is installed (idempotently) under
# ${PLINTH_COMPAT_CACHE:-~/.cache/plinth-compat}: a Python <= 3.10 venv
# (pymesos, mesoshttp, avmesos), the mesos-go check binary (module
# github.com/mesos/mesos-go v0.0.11 via the Go module proxy) and
# node_modules (mesos-framework 0.5.3 from npm).
#
# Environment:
#   PLINTH_TESTKIT_BIN   use this plinth-testkit binary instead of building
#                        target/release/plinth-testkit
#   PLINTH_COMPAT_PYTHON interpreter for the venv (must be <= 3.10)
#   CLIENT_TIMEOUT       seconds per client (default 60; each gives up at 30)
#   KEEP_LOGS=1          keep the master's and clients' logs after a green run
#
# Prints one "PASS <client>: ..." or "FAIL <client>: ..." line per client and
# exits non-zero if any client failed. Only loopback is used.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${PLINTH_COMPAT_CACHE:-$HOME/.cache/plinth-compat}"
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-60}"
ALL_CLIENTS=(python-pymesos go-mesos-go-protobuf go-mesos-go-json node-mesos-framework python-mesoshttp python-avmesos)
if [ "$#" -gt 0 ]; then CLIENTS=("$@"); else CLIENTS=("${ALL_CLIENTS[@]}"); fi

mkdir -p "$CACHE"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/plinth-compat.XXXXXX")"
MASTER_PID=""

say() { echo "compat: $*" >&2; }

FAILED=1
cleanup() {
    if [ -n "$MASTER_PID" ] && kill -0 "$MASTER_PID" 2>/dev/null; then
        kill -TERM "$MASTER_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$MASTER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$MASTER_PID" 2>/dev/null
    fi
    # Logs are kept when something failed (or KEEP_LOGS=1).
    if [ "$FAILED" = 0 ] && [ -z "${KEEP_LOGS:-}" ]; then rm -rf "$LOGS"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wants() { local c; for c in "${CLIENTS[@]}"; do [[ "$c" == "$1"* ]] && return 0; done; return 1; }

# --- Python (pymesos, mesoshttp, avmesos) -------------------------------------
# http-parser (a pymesos dependency) only builds on Python <= 3.10.
find_python() {
    local c
    for c in "${PLINTH_COMPAT_PYTHON:-}" python3.10 python3.9 python3.8 \
        "$HOME"/.pyenv/versions/3.10*/bin/python3 "$HOME"/.pyenv/versions/3.9*/bin/python3 \
        /usr/local/bin/python3.10 /usr/bin/python3.10 python3; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || continue
        if "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] <= (3, 10) else 1)' 2>/dev/null; then
            echo "$c"; return 0
        fi
    done
    return 1
}

PY_READY=""
setup_python() {
    local venv="$CACHE/venv" stamp="$CACHE/venv/.requirements"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$HERE/requirements.txt" && [ -x "$venv/bin/python" ]; then
        PY_READY=1; return 0
    fi
    local py
    if ! py="$(find_python)"; then
        PY_SETUP_ERROR="no Python <= 3.10 found (pymesos' http-parser does not build on 3.11+); set PLINTH_COMPAT_PYTHON"
        return 1
    fi
    say "python: venv with $("$py" --version 2>&1) in $venv"
    rm -rf "$venv"
    if ! "$py" -m venv "$venv" >"$LOGS/python-setup.log" 2>&1 ||
        ! "$venv/bin/pip" install --disable-pip-version-check -q -r "$HERE/requirements.txt" >>"$LOGS/python-setup.log" 2>&1; then
        PY_SETUP_ERROR="pip install failed (see $LOGS/python-setup.log)"
        return 1
    fi
    cp "$HERE/requirements.txt" "$stamp"
    PY_READY=1
}

# --- Go (mesos-go) ---------------------------------------------------------
GO_BIN="$CACHE/bin/mesos-go-check"
GO_READY=""
setup_go() {
    if ! command -v go >/dev/null 2>&1; then GO_SETUP_ERROR="go is not installed"; return 1; fi
    mkdir -p "$CACHE/bin"
    if [ -x "$GO_BIN" ] && [ -z "$(find "$HERE/go" -newer "$GO_BIN" -type f)" ]; then
        GO_READY=1; return 0
    fi
    say "go: building mesos-go check (github.com/mesos/mesos-go v0.0.11)"
    if ! (cd "$HERE/go" && GOFLAGS=-mod=mod go build -o "$GO_BIN" .) >"$LOGS/go-setup.log" 2>&1; then
        GO_SETUP_ERROR="go build failed (see $LOGS/go-setup.log)"
        return 1
    fi
    GO_READY=1
}

# --- Node (mesos-framework) ------------------------------------------------
NODE_DIR="$CACHE/node"
NODE_READY=""
setup_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        NODE_SETUP_ERROR="node/npm are not installed"; return 1
    fi
    mkdir -p "$NODE_DIR"
    if [ -d "$NODE_DIR/node_modules/mesos-framework" ] && cmp -s "$HERE/package.json" "$NODE_DIR/package.json"; then
        NODE_READY=1; return 0
    fi
    say "node: npm install mesos-framework into $NODE_DIR"
    cp "$HERE/package.json" "$NODE_DIR/package.json"
    if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error) >"$LOGS/node-setup.log" 2>&1; then
        rm -f "$NODE_DIR/package.json"
        NODE_SETUP_ERROR="npm install failed (see $LOGS/node-setup.log)"
        return 1
    fi
    NODE_READY=1
}

PY_SETUP_ERROR="" GO_SETUP_ERROR="" NODE_SETUP_ERROR=""
if wants python; then setup_python; fi
if wants go; then setup_go; fi
if wants node; then setup_node; fi

# --- the master -------------------------------------------------------------
BIN="${PLINTH_TESTKIT_BIN:-}"
if [ -z "$BIN" ]; then
    say "building plinth-testkit (cargo build --release -p plinth-testkit)"
    if ! (cd "$ROOT" && cargo build --release -p plinth-testkit) >"$LOGS/cargo.log" 2>&1; then
        tail -20 "$LOGS/cargo.log" >&2
        echo "FAIL master: cargo build failed (see $LOGS/cargo.log)"
        exit 1
    fi
    BIN="$ROOT/target/release/plinth-testkit"
fi

"$BIN" master --listen 127.0.0.1:0 --agents 1 --mode process \
    >"$LOGS/master.out" 2>"$LOGS/master.err" &
MASTER_PID=$!
URL=""
for _ in $(seq 1 100); do
    URL="$(head -n 1 "$LOGS/master.out" 2>/dev/null)"
    [ -n "$URL" ] && break
    kill -0 "$MASTER_PID" 2>/dev/null || break
    sleep 0.1
done
case "$URL" in
    http://127.*:*) ;;
    *)
        cat "$LOGS/master.err" >&2
        echo "FAIL master: no loopback URL on the master's first stdout line (got '$URL')"
        exit 1
        ;;
esac
say "master at $URL (logs in $LOGS, kept on failure)"

# --- the clients ------------------------------------------------------------
FAILED=0
run_client() {
    local name="$1"; shift
    local log="$LOGS/$name.log" line
    timeout --kill-after=5 "$CLIENT_TIMEOUT" "$@" >"$log" 2>&1
    local rc=$?
    line="$(grep -E "^(PASS|FAIL) " "$log" | tail -n 1)"
    if [ "$rc" -eq 0 ] && [[ "$line" == "PASS "* ]]; then
        echo "$line"
    else
        FAILED=1
        if [ -n "$line" ]; then
            echo "$line (exit $rc; log $log)"
        elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "FAIL $name: killed after ${CLIENT_TIMEOUT} s (log $log)"
        else
            echo "FAIL $name: exit $rc without a verdict: $(tail -n 3 "$log" | tr '\n' ' ') (log $log)"
        fi
    fi
}
setup_failed() { FAILED=1; echo "FAIL $1: setup: $2"; }

for client in "${CLIENTS[@]}"; do
    case "$client" in
        python-pymesos | python-mesoshttp | python-avmesos)
            if [ -z "$PY_READY" ]; then setup_failed "$client" "$PY_SETUP_ERROR"; continue; fi
            if [ "$client" = python-pymesos ]; then
                run_client "$client" "$CACHE/venv/bin/python" "$HERE/python_pymesos.py" "$URL"
            else
                run_client "$client" "$CACHE/venv/bin/python" "$HERE/python_mesoshttp.py" \
                    --module "${client#python-}" "$URL"
            fi
            ;;
        go-mesos-go-protobuf | go-mesos-go-json)
            if [ -z "$GO_READY" ]; then setup_failed "$client" "$GO_SETUP_ERROR"; continue; fi
            run_client "$client" "$GO_BIN" -codec "${client#go-mesos-go-}" "$URL"
            ;;
        node-mesos-framework)
            if [ -z "$NODE_READY" ]; then setup_failed "$client" "$NODE_SETUP_ERROR"; continue; fi
            run_client "$client" env NODE_PATH="$NODE_DIR/node_modules" node "$HERE/node_mesos_framework.js" "$URL"
            ;;
        *)
            FAILED=1
            echo "FAIL $client: unknown client (known: ${ALL_CLIENTS[*]})"
            ;;
    esac
done

if ! kill -0 "$MASTER_PID" 2>/dev/null; then
    FAILED=1
    echo "FAIL master: the master died during the run (see $LOGS/master.err)"
fi
exit "$FAILED"
