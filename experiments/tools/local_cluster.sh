#!/usr/bin/env bash
# The cluster commands of docs/cluster.md, run on one machine: a Ray cluster of a head and a
# worker node (`ray start`), and a two-process multi-host JAX run of `nas run` (coordinator on
# 127.0.0.1, one CPU device per process) whose search and final training use that cluster.
#
#   experiments/tools/local_cluster.sh [WORKDIR] [EXPERIMENT] [extra nas run args...]
#   (default: runs/local_cluster, fashion_mnist --smoke)
#
# KILL_AT=PATH (relative to WORKDIR, e.g. supernet/checkpoints/1) rehearses losing every host:
# once PATH exists both processes get SIGKILL, then the same command starts them again, which
# resumes from the last checkpoint (exit non-zero when the processes ended before PATH appeared).
#
# Prints each command before running it; exits non-zero when a process fails or the report is
# missing. At the end this script's Ray processes (found by their own temp dir) are stopped;
# `ray stop` would stop every Ray instance on the machine.
set -euo pipefail
BIN=${BIN:-$(dirname "$(command -v nas || echo .venv/bin/nas)")}
WORKDIR=${1:-runs/local_cluster}
EXPERIMENT=${2:-fashion_mnist}
shift $(( $# > 2 ? 2 : $# )) || true
EXTRA=("$@")
[ ${#EXTRA[@]} -eq 0 ] && EXTRA=(--smoke)
free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RAY_PORT=$(free_port)
export RAY_TMPDIR=${RAY_TMPDIR:-$(mktemp -d /tmp/raycl.XXXX)}  # keeps this cluster apart from others
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled} RAY_USAGE_STATS_ENABLED=0 JAX_PLATFORMS=${JAX_PLATFORMS:-cpu}
run() { echo "+ $*" >&2; "$@"; }
ray_pids() { pgrep -f -- "--[a-z_-]*=$RAY_TMPDIR" || true; }  # this cluster's Ray processes
cleanup() {
  local p
  for p in $(ray_pids); do kill "$p" 2>/dev/null || true; done
  sleep 5
  for p in $(ray_pids); do kill -9 "$p" 2>/dev/null || true; done  # the GCS server may ignore SIGTERM
}
trap cleanup EXIT

# 1. the Ray cluster: head, then a worker node joining it
run "$BIN/ray" start --head --node-ip-address=127.0.0.1 --port="$RAY_PORT" --num-cpus=2 --include-dashboard=false \
    --temp-dir="$RAY_TMPDIR" --disable-usage-stats
run "$BIN/ray" start --address="127.0.0.1:$RAY_PORT" --node-ip-address=127.0.0.1 --num-cpus=1 --temp-dir="$RAY_TMPDIR" --disable-usage-stats

# 2. the same command on every "host" (here: two processes), told where process 0 listens
COMMON=(run "$EXPERIMENT" "${EXTRA[@]}" --workdir "$WORKDIR" --set supernet.jax_distributed=true
        --set search.ray_address="127.0.0.1:$RAY_PORT" --set search.num_workers=2)
mkdir -p "$(dirname "$WORKDIR")"
launch() {  # both processes, on a fresh coordinator port; their pids in $pids
  local id port; port=$(free_port); pids=()
  for id in 0 1; do
    echo "+ JAX_COORDINATOR_ADDRESS=127.0.0.1:$port JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=$id nas ${COMMON[*]}" >&2
    JAX_COORDINATOR_ADDRESS="127.0.0.1:$port" JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=$id \
      "$BIN/nas" "${COMMON[@]}" >> "$WORKDIR.process$id.log" 2>&1 &
    pids+=($!)
  done
}
alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done; }
: > "$WORKDIR.process0.log"; : > "$WORKDIR.process1.log"
launch
if [ -n "${KILL_AT:-}" ]; then
  while [ ! -e "$WORKDIR/$KILL_AT" ] && alive; do sleep 0.05; done
  alive || { echo "local_cluster: a process ended before $KILL_AT appeared" >&2; exit 1; }
  echo "+ kill -9 ${pids[*]}   ($KILL_AT written: every host lost)" >&2
  kill -9 "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  launch
fi
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
tail -n 3 "$WORKDIR.process0.log" "$WORKDIR.process1.log"
[ "$status" -eq 0 ] && [ -f "$WORKDIR/report/index.html" ] || { echo "local_cluster: failed (status $status)" >&2; exit 1; }
echo "local_cluster: ok: $WORKDIR/report/index.html" >&2
