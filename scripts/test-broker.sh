#!/usr/bin/env bash
# A Kafka-compatible broker (tansu 0.6.0, sqlite storage) on a free loopback port, for the
# end-to-end tests.
#
#   scripts/test-broker.sh install                  install tansu when missing
#   scripts/test-broker.sh start [DIR]              start a broker keeping its state in DIR
#                                                   (default target/test-broker); prints
#                                                   WEFT_TEST_BROKER=127.0.0.1:PORT
#                                                   (PORT=N in the environment: listen on N
#                                                   instead of a free port)
#   scripts/test-broker.sh restart [DIR]            stop it and start it again: same port,
#                                                   same sqlite file
#   scripts/test-broker.sh topic NAME PARTITIONS [DIR]   create a topic
#   scripts/test-broker.sh stop [DIR]               stop it
#
# sqlite, not memory: tansu 0.6.0's memory engine serves a fetch that starts inside a record
# batch from the next batch (records are skipped); sqlite resumes exactly and survives a
# restart.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0

tansu_bin() {
  if command -v tansu >/dev/null 2>&1; then
    command -v tansu
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
    echo "${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
  else
    return 1
  fi
}

install() {
  if tansu_bin >/dev/null; then
    return 0
  fi
  echo "installing tansu $TANSU_VERSION (about 10-20 minutes on 2 cores)" >&2
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
  local port=$1 pid=$2
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

launch() {
  local dir=$1 port=$2
  local tansu
  tansu=$(tansu_bin)
  # tansu reads the sqlite URL's path relative to its working directory: start it in $dir.
  # setsid: the broker outlives the shell that started it, in a process group of its own.
  (cd "$dir" && exec setsid "$tansu" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "sqlite://broker.db" \
    >>"$dir/broker.log" 2>&1 < /dev/null) &
  local pid=$!
  echo "$pid" >"$dir/broker.pid"
  echo "$port" >"$dir/broker.port"
  if ! wait_for_port "$port" "$pid"; then
    echo "error: tansu did not start listening on 127.0.0.1:$port; see $dir/broker.log" >&2
    tail -20 "$dir/broker.log" >&2 || true
    exit 1
  fi
  index_headers "$dir"
  echo "WEFT_TEST_BROKER=127.0.0.1:$port"
}

# tansu 0.6.0 looks each fetched record's headers up with a scan of its whole `header` table,
# which has no index (docs/kafka-broker-defects.md): once a few thousand dead letters (records
# with headers) are on the broker, a fetch of 44,000 records takes 9 s, past the group's session
# timeout, and a worker never gets to read. The index tansu lacks makes that lookup a search.
index_headers() {
  python3 - "$1/broker.db" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
for _ in range(100):
    if db.execute("select 1 from sqlite_master where type = 'table' and name = 'header'").fetchone():
        db.execute("create index if not exists test_header_record on header (topition, offset_id)")
        db.commit()
        break
    time.sleep(0.1)
else:
    sys.exit("tansu's header table never appeared in " + sys.argv[1])
EOF
}

stop_broker() {
  local dir=$1
  [ -f "$dir/broker.pid" ] || return 0
  local pid
  pid=$(cat "$dir/broker.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/broker.pid"
}

command=${1:-}
case "$command" in
  install)
    install
    ;;
  start)
    dir=$(mkdir -p "${2:-target/test-broker}" && cd "${2:-target/test-broker}" && pwd)
    install
    stop_broker "$dir"
    launch "$dir" "${PORT:-$(free_port)}"
    ;;
  restart)
    dir=$(cd "${2:-target/test-broker}" && pwd)
    port=$(cat "$dir/broker.port")
    stop_broker "$dir"
    launch "$dir" "$port"
    ;;
  topic)
    name=${2:?topic name}
    partitions=${3:?number of partitions}
    dir=$(cd "${4:-target/test-broker}" && pwd)
    port=$(cat "$dir/broker.port")
    "$(tansu_bin)" topic create --broker "tcp://127.0.0.1:$port" --partitions "$partitions" "$name" >>"$dir/broker.log" 2>&1
    ;;
  stop)
    stop_broker "$(cd "${2:-target/test-broker}" 2>/dev/null && pwd || echo "${2:-target/test-broker}")"
    ;;
  *)
    echo "usage: scripts/test-broker.sh install|start [DIR]|restart [DIR]|topic NAME PARTITIONS [DIR]|stop [DIR]" >&2
    exit 2
    ;;
esac
