#!/usr/bin/env bash
# Runs the session benchmarks and the libsignal baseline side by side on this machine and writes docs/benchmarks.md.
#
#   bash tests/TelehealthMessaging.Benchmarks/run.sh            # 5 rounds, about 7 minutes on 2 busy cores
#   ROUNDS=3 bash tests/TelehealthMessaging.Benchmarks/run.sh   # quicker, noisier
#   BENCH_OUT=/tmp/bench bash tests/TelehealthMessaging.Benchmarks/run.sh   # keep the raw results
#
# Needs the .NET SDK and Node 20+. The two sides alternate (libsignal, .NET, libsignal, .NET, ..., libsignal) so that
# load from other processes hits both: each .NET round is compared with the mean of the libsignal runs just before and
# just after it, and the report gives the median of those paired ratios.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-5}"
# BENCH_OUT keeps the raw results (BenchmarkDotNet JSON, baseline JSON) in a directory of your choice.
if [ -n "${BENCH_OUT:-}" ]; then
  out="$BENCH_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { echo "run.sh: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

{
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "load_start=$(loadavg)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "os=$(uname -sr)"
  echo "dotnet_sdk=$(dotnet --version)"
  echo "node=$(node --version)"
  echo "rounds=$rounds"
} > "$out/machine.env"

log "installing the libsignal baseline (npm ci) if needed"
if [ ! -d "$here/libsignal/node_modules/@signalapp/libsignal-client" ]; then
  (cd "$here/libsignal" && npm ci --no-audit --no-fund >&2)
fi

log "building the benchmarks (Release)"
dotnet build "$here/TelehealthMessaging.Benchmarks.csproj" -c Release -v quiet -nologo >&2

# ShortRun in process: 3 warm-up and 3 measured iterations, no separate benchmark process to build.
bdn() {
  dotnet run --project "$here/TelehealthMessaging.Benchmarks.csproj" -c Release --no-build -- \
    --filter "$1" --job short --inProcess --exporters json --artifacts "$2" >&2
}

baseline() {
  log "libsignal run $1 (load $(loadavg))"
  echo "$(loadavg)" > "$out/libsignal-$1.load"
  (cd "$here/libsignal" && node bench.js --repeats 5) > "$out/libsignal-$1.json"
}

for i in $(seq 1 "$rounds"); do
  baseline "$i"
  log ".NET round $i (load $(loadavg))"
  echo "$(loadavg)" > "$out/dotnet-$i.load"
  bdn '*SessionBenchmarks*' "$out/dotnet-$i"
done
baseline "$((rounds + 1))"

log "primitive breakdown (load $(loadavg))"
bdn '*PrimitiveBenchmarks*' "$out/primitives"

log "message overhead"
dotnet run --project "$here/TelehealthMessaging.Benchmarks.csproj" -c Release --no-build -- overhead > "$out/overhead.json"

echo "load_end=$(loadavg)" >> "$out/machine.env"
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$out/machine.env"

# report.js rewrites the file itself: a shell redirection would empty it before the relay section could be kept.
node "$here/report.js" "$out" "$root/docs/benchmarks.md"
log "wrote docs/benchmarks.md"
