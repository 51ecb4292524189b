#!/usr/bin/env bash
# The main job (README command 1): a local ECCL cluster on 127.0.0.1.
#   1. eccl-master starts (HTTP status on its own port); peers join in waves (1, then 3)
#   2. the master's /status shows the ring
#   3. one peer is killed (SIGKILL) and one frozen (SIGSTOP): the survivors see them lost
#   4. the master is restarted on the same port: the ring survives it and admits a newcomer
#   5. peers leave gracefully (SIGTERM)
#   6. training: four peers all-reduce every step (exact checks), a fifth joins, one is killed
#   7. the striped transport against iperf3, same run
# Everything it starts is stopped when it exits, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target eccl-master eccl-peer eccl-bench -j "${ECCL_JOBS:-$(nproc)}" |
  tail -n 1

bin=build/release/bin
work=$(mktemp -d /tmp/eccl-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n==== %s\n' "$*"; }

wait_for_file() {
  for _ in $(seq 100); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  echo "demo: $1 did not appear" >&2
  return 1
}

# Logs are read from a mark on, so that an old line never answers a new question.
declare -A marks
mark() { for name in "$@"; do marks[$name]=$(wc -l <"$work/$name.log"); done; }
since_mark() { tail -n "+$((${marks[$1]:-0} + 1))" "$work/$1.log" 2>/dev/null; }

# Waits until `pattern` shows up in a peer's log after its mark (5 s at most).
wait_for_line() {
  for _ in $(seq 100); do
    since_mark "$1" | grep -q -- "$2" && return 0
    sleep 0.05
  done
  echo "demo: no '$2' in $work/$1.log" >&2
  return 1
}
show() { since_mark "$1" | grep -E -- "$2" | sed "s/^/$1: /"; }

http_get() {  # plain bash, so the demo needs no HTTP client package
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

start_master() {
  rm -f "$work/port" "$work/http-port"
  "$bin/eccl-master" --listen "127.0.0.1:${1:-0}" --http 127.0.0.1:0 --heartbeat-ms 100 \
    --miss-limit 4 --token-key-file "$work/token.key" --port-file "$work/port" \
    --http-port-file "$work/http-port" --log-level warn >>"$work/master.log" 2>&1 &
  master_pid=$!
  pids+=("$master_pid")
  wait_for_file "$work/port"
  wait_for_file "$work/http-port"
}

start_peer() {
  local name="$1"
  : >"$work/$name.log"
  "$bin/eccl-peer" --master "127.0.0.1:$(cat "$work/port")" --group demo \
    --listen 127.0.0.1:0 --connections 2 --step-ms 50 >"$work/$name.log" 2>/dev/null &
  pids+=($!)
  eval "pid_$name=$!"
}

stop() {  # signal, then reap quietly (no "Killed" job notice)
  kill "-$1" "$2"
  wait "$2" 2>/dev/null || true
}

say "master (heartbeat 100 ms, miss limit 4) and the first peer"
start_master
echo "control port $(cat "$work/port"), HTTP port $(cat "$work/http-port")"
start_peer a
wait_for_line a admitted
show a admitted

say "three more peers join; the accepted ones admit them at topology updates"
for name in b c d; do start_peer "$name"; done
for name in a b c d; do wait_for_line "$name" "world=4"; done
for name in a b c d; do show "$name" "admitted|topology"; done

say "GET /status"
http_get "$(cat "$work/http-port")" /status
echo

say "SIGKILL peer d, SIGSTOP peer c: the survivors see both lost and settle on a ring of two"
mark a b
kill -STOP "$pid_c"
stop KILL "$pid_d"
for name in a b; do wait_for_line "$name" "world=2"; done
for name in a b; do show "$name" "lost|topology"; done
kill -CONT "$pid_c"
stop KILL "$pid_c"

say "the master restarts on the same port: the ring survives and admits a newcomer"
mark a b
stop TERM "$master_pid"
start_master "$(cat "$work/port")"
start_peer e
for name in a b e; do wait_for_line "$name" "world=3"; done
for name in a b e; do show "$name" "."; done
echo "metrics:"
http_get "$(cat "$work/http-port")" /metrics |
  grep -E "^eccl_master_(peers|commits_total|losses_total|incarnation)" || true

say "peer e leaves gracefully (SIGTERM)"
mark a b
stop TERM "$pid_e"
for name in a b; do wait_for_line "$name" "left"; done
for name in a b; do show "$name" "left"; done

say "training: four peers all-reduce 16 MiB of f32 every step (every element checked)"
for name in t1 t2 t3 t4; do
  : >"$work/$name.log"
  "$bin/eccl-peer" --master "127.0.0.1:$(cat "$work/port")" --group train \
    --listen 127.0.0.1:0 --connections 2 --allreduce-size 16M --step-ms 20 \
    >"$work/$name.log" 2>>"$work/train-errors.log" &
  pids+=($!)
  eval "pid_$name=$!"
  sleep 0.2  # in order, so that the ring forms in waves
done
for name in t1 t2 t3 t4; do wait_for_line "$name" "world=4 .* ok"; done
sleep 1
echo "a fifth peer joins while they train:"
: >"$work/t5.log"
"$bin/eccl-peer" --master "127.0.0.1:$(cat "$work/port")" --group train \
  --listen 127.0.0.1:0 --connections 2 --allreduce-size 16M --step-ms 20 \
  >"$work/t5.log" 2>>"$work/train-errors.log" &
pids+=($!)
pid_t5=$!
for name in t1 t5; do wait_for_line "$name" "world=5 .* ok"; done
since_mark t1 | grep "world=5 .* ok" | head -n 2 | sed 's/^/t1: /'
sleep 1
echo "peer t3 is killed (SIGKILL) midway; the survivors' op fails cleanly, they settle and go on:"
mark t1 t2 t4 t5
stop KILL "$pid_t3"
for name in t1 t2 t4 t5; do wait_for_line "$name" "world=4 .* ok"; done
show t1 "lost|world=4 .* ok" | head -n 3
grep -h "eccl-peer: step" "$work/train-errors.log" | head -n 2 | cut -c1-160 || true
sleep 1
kill -TERM "$pid_t1" "$pid_t2" "$pid_t4" "$pid_t5"
for pid in "$pid_t1" "$pid_t2" "$pid_t4" "$pid_t5"; do wait "$pid" 2>/dev/null || true; done
echo "summary (steps with an exactly checked all-reduce, per peer; no wrong result was seen):"
for name in t1 t2 t3 t4 t5; do
  # Step lines end in "ok hash=..." (the result's hash, equal on every peer).
  printf '  %s: %4d steps ok, world sizes %s\n' "$name" "$(grep -cE ' ok( hash=|$)' "$work/$name.log")" \
    "$(grep -oE 'world=[0-9]* .* ok( hash=|$)' "$work/$name.log" | cut -d' ' -f1 | sort -u | tr '\n' ' ')"
done
if grep -q "result wrong" "$work/train-errors.log"; then
  echo "demo: an all-reduce gave a wrong result" >&2
  exit 1
fi

say "transport: 256 MiB between two processes, ECCL striped channel vs iperf3 (same run)"
for connections in 1 4; do
  "$bin/eccl-bench" p2p --size 256M --iters 5 --connections "$connections" --compare iperf3
done
