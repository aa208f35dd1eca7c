#!/usr/bin/env bash
# Runs the relay load test in every mode side by side and writes the "Relay throughput" section of docs/benchmarks.md
# (between its relay-throughput markers; the rest of the file is left alone).
#
#   bash tests/TelehealthMessaging.LoadTest/run.sh                 # 3 rounds at 100 devices, then 1 at 1,000
#   ROUNDS=5 ROUNDS_1000=2 bash tests/TelehealthMessaging.LoadTest/run.sh
#   LOAD_OUT=/tmp/load bash tests/TelehealthMessaging.LoadTest/run.sh   # keep the raw JSON results there
#   PROFILE=0 WRITE_DOCS=0 ...                                          # no profiled runs; print the report only
#   JETSTREAM_PIPELINE=10 ...                                           # JetStream with 10 batches in flight per pair (default 1)
#
# Modes alternate inside each round (relay-sqlite, relay-postgres, ceiling, jetstream, with the starting mode rotated
# every round) so that load from other processes on a shared machine hits all of them. Each round measures the
# closed-loop maximum and the open-loop 5,000 envelopes/s offered rate. Needs the .NET SDK; installs nats-server with
# apt-get when it is missing; uses the PostgreSQL server named by TELEHEALTH_LOAD_POSTGRES (a connection string to a
# server where databases may be created) or starts a throwaway cluster on 127.0.0.1:${PGPORT_LOAD:-55434}.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-3}"
rounds_1000="${ROUNDS_1000:-1}"
duration="${DURATION:-15}"
warmup="${WARMUP:-5}"
drain="${DRAIN:-60}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ -n "${LOAD_OUT:-}" ]; then
  out="$LOAD_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d)"
fi

log() { echo "run.sh: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
find_initdb() { command -v initdb 2>/dev/null || ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }

pg_dir=""
pg_bin=""
cleanup() {
  if [ -n "$pg_dir" ]; then as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"; fi
  if [ -z "${LOAD_OUT:-}" ]; then rm -rf "$out"; fi
}
trap cleanup EXIT

if ! command -v nats-server >/dev/null; then
  log "installing nats-server (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi

pg_server="${TELEHEALTH_LOAD_POSTGRES:-}"
if [ -z "$pg_server" ]; then
  port="${PGPORT_LOAD:-55434}"
  if [ -z "$(find_initdb)" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_bin="$(dirname "$(readlink -f "$(find_initdb)")")"
  pg_dir="$(mktemp -d)"
  [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
  as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >/dev/null
  # Default durability (fsync and synchronous_commit on): the relay is measured as it would run in production.
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-h 127.0.0.1 -p $port -k $pg_dir -c max_connections=300" start >/dev/null
  pg_server="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
fi
pg_host="$(sed -nE 's/.*Host=([^;]+).*/\1/p' <<<"$pg_server")"
pg_port="$(sed -nE 's/.*Port=([^;]+).*/\1/p' <<<"$pg_server")"
pg_user="$(sed -nE 's/.*Username=([^;]+).*/\1/p' <<<"$pg_server")"
psql_admin() { psql -h "$pg_host" -p "${pg_port:-5432}" -U "${pg_user:-postgres}" -d postgres -qAt -c "$1"; }

log "building the relay host and the load tool (Release)"
dotnet build "$root/src/TelehealthMessaging.Relay/TelehealthMessaging.Relay.csproj" -c Release -v quiet -nologo >&2
dotnet build "$here/TelehealthMessaging.LoadTest.csproj" -c Release -v quiet -nologo >&2
tool="$here/bin/Release/net10.0/TelehealthMessaging.LoadTest.dll"

{
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "load_start=$(loadavg)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "os=$(uname -sr)"
  echo "dotnet_sdk=$(dotnet --version)"
  echo "nats_server=$(nats-server --version 2>&1 | head -n1)"
  echo "postgres=$(psql_admin 'SHOW server_version;')"
  # The floor under every durable store's latency here: one 4 KiB write + fdatasync on the disk the stores use.
  echo "fdatasync=$(python3 - "${TMPDIR:-/tmp}" <<'PY' 2>/dev/null || echo "n/a"
import os, sys, time
path = os.path.join(sys.argv[1], "fdatasync-probe-%d" % os.getpid())
fd = os.open(path, os.O_WRONLY | os.O_CREAT)
times = []
for _ in range(500):
    os.write(fd, b"x" * 4096)
    start = time.perf_counter()
    os.fdatasync(fd)
    times.append((time.perf_counter() - start) * 1000)
os.close(fd)
os.unlink(path)
times.sort()
print("p50 %.2f ms, p99 %.2f ms, max %.2f ms (500 x 4 KiB)" % (times[249], times[494], times[-1]))
PY
)"
} > "$out/machine.env"

modes=(relay-sqlite relay-postgres ceiling jetstream)
run_one() { # devices round mode rate [folder extra-option]
  local devices="$1" round="$2" mode="$3" rate="$4" folder="${5:-$out}" extra=()
  [ -n "${6:-}" ] && extra+=("$6")
  local name="d$devices-r$round-$mode-$rate"
  # Each system at the pipelining depth where it does best: JetStream's publish acks slow down with ten batches in
  # flight per pair (measured), the relays and the ceiling gain from them.
  [ "$mode" = jetstream ] && extra+=(--pipeline "${JETSTREAM_PIPELINE:-1}")
  if [ "$mode" = relay-postgres ]; then
    local db="loadtest_$(date +%s%N)"
    psql_admin "CREATE DATABASE $db;"
    extra+=(--postgres "${pg_server/Database=postgres/Database=$db}")
  fi
  log "$name (load $(loadavg))"
  dotnet "$tool" --mode "$mode" --devices "$devices" --rate "$rate" --duration "$duration" --warmup "$warmup" --drain "$drain" \
    --label "round $round" --out "$folder/$name.json" "${extra[@]}" >&2 || log "$name failed"
  if [ "$mode" = relay-postgres ]; then psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE);"; fi
}

rounds_for() { # devices rounds
  local devices="$1" count="$2"
  for round in $(seq 1 "$count"); do
    for offset in 0 1 2 3; do
      local mode="${modes[$(((round - 1 + offset) % 4))]}"
      run_one "$devices" "$round" "$mode" max
      run_one "$devices" "$round" "$mode" 5000
    done
  done
}

rounds_for 100 "$rounds"
rounds_for 1000 "$rounds_1000"
# Where the time goes: one more maximum-throughput run per relay mode with the relay's per-submission timing log on.
# Kept apart from the measured rounds because the debug log costs the relay CPU.
mkdir -p "$out/profile"
if [ "${PROFILE:-1}" = 1 ]; then
  run_one 100 profile relay-sqlite max "$out/profile" --profile
  run_one 100 profile relay-postgres max "$out/profile" --profile
fi
echo "load_end=$(loadavg)" >> "$out/machine.env"
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$out/machine.env"

report="$out/relay-throughput.md"
{
  echo "<!-- relay-throughput:start (generated by tests/TelehealthMessaging.LoadTest/run.sh) -->"
  echo "Measured $(sed -n 's/^started=//p' "$out/machine.env") to $(sed -n 's/^finished=//p' "$out/machine.env") on $(sed -n 's/^nproc=//p' "$out/machine.env") cores ($(sed -n 's/^cpu=//p' "$out/machine.env")), $(sed -n 's/^os=//p' "$out/machine.env"), .NET SDK $(sed -n 's/^dotnet_sdk=//p' "$out/machine.env"), $(sed -n 's/^nats_server=//p' "$out/machine.env"), PostgreSQL $(sed -n 's/^postgres=//p' "$out/machine.env"); fdatasync on this disk: $(sed -n 's/^fdatasync=//p' "$out/machine.env"). Load average $(sed -n 's/^load_start=//p' "$out/machine.env") at the start, $(sed -n 's/^load_end=//p' "$out/machine.env") at the end."
  echo
  echo "Command: \`ROUNDS=$rounds ROUNDS_1000=$rounds_1000 DURATION=$duration WARMUP=$warmup DRAIN=$drain bash tests/TelehealthMessaging.LoadTest/run.sh\`"
  echo
  dotnet "$tool" report "$out"
  dotnet "$tool" profile "$out/profile"
  echo "<!-- relay-throughput:end -->"
} > "$report"

if [ "${WRITE_DOCS:-1}" != 1 ]; then
  cat "$report"
  exit 0
fi

doc="$root/docs/benchmarks.md"
python3 - "$doc" "$report" <<'PY'
import re, sys
doc, report = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
text = open(doc).read()
pattern = re.compile(r"<!-- relay-throughput:start.*?<!-- relay-throughput:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: report, text)
else:
    text = text.rstrip("\n") + "\n\n## Relay throughput\n\n" + report + "\n"
open(doc, "w").write(text)
PY
log "wrote the relay section of docs/benchmarks.md (raw results: ${LOAD_OUT:-deleted; set LOAD_OUT to keep them})"
