#!/usr/bin/env bash
# The fault suite of issue 11: one NAS-Bench-201 search of 500 evaluations through diswotd
# while 20 of its local workers are killed with SIGKILL, the daemon itself 3 times (and
# restarted on the same endpoints), and a remote worker in its own network namespace is
# cut off for longer than the liveness window once. The search must complete with every
# candidate stored exactly once, and its history (in order) and best must equal those of
# an undisturbed daemon search and of `diswot search --local` with the same options.
# Needs root, iproute2 and Linux network namespaces (exits 2 with a message otherwise).
#
# Usage: Scripts/bench-faults.sh [--budget 500] [--seed 11]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=500 seed=11
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench-faults.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-faults.sh: needs root (network namespaces)" >&2; exit 2; }
Scripts/bootstrap.sh
for product in diswot diswotd diswot-worker; do swift build -c release --product "$product" >&2; done
bin=$(pwd)/.build/release
work=$(mktemp -d)
ns=dwf$$ host=dwfh$$ peer=dwfp$$ net="10.232.$(( $$ % 200 + 20 ))"
cleanup() {
  pkill -KILL -f "$work/" 2>/dev/null || true
  pkill -KILL -f "diswot-worker --connect tcp://$net" 2>/dev/null || true
  ip link delete "$host" 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns" || { echo "bench-faults.sh: this kernel or container refuses network namespaces" >&2; exit 2; }
ip link add "$host" type veth peer name "$peer"
ip link set "$peer" netns "$ns"
ip addr add "$net.1/30" dev "$host"; ip link set "$host" up
ip netns exec "$ns" ip addr add "$net.2/30" dev "$peer"
ip netns exec "$ns" ip link set "$peer" up; ip netns exec "$ns" ip link set lo up

port=$(( 20000 + $$ % 20000 ))
options=(--space nas-bench-201 --teacher resnet20 --batch 32 --proxy diswot --strategy evolution
  --population 20 --tournament 5 --budget "$budget" --seed "$seed")
beat=(--heartbeat-ms 250 --liveness 4)

# A daemon with two local workers; its workers endpoint on the veth so the remote worker
# reaches it. Starting it again on the same state directory resumes every search.
start_daemon() { # state-dir client-port workers-port log
  "$bin/diswotd" --state-dir "$1" --data-root / --local-workers 2 --worker-threads 1 "${beat[@]}" \
    --client "tcp://127.0.0.1:$2" --workers "tcp://$net.1:$3" --events "tcp://127.0.0.1:$(( $2 + 2 ))" > /dev/null 2>> "$4" &
  echo $!
}
wait_client() { for _ in $(seq 1 300); do "$bin/diswot" health --daemon "$1" --quiet >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
status() { "$bin/diswot" search status "$1" --daemon "$2" --json --quiet 2>/dev/null || true; }
# When the daemon stops answering while it runs, every thread's stack goes to a file, so a
# hang seen once in hundreds of kills can be found (gdb from Debian's package).
backtrace() { # pid
  local out="$work/daemon-backtrace-$1-$SECONDS.txt"
  if command -v gdb >/dev/null; then
    gdb -p "$1" -batch -ex "thread apply all bt" > "$out" 2>&1 || true
  else
    echo "gdb is not installed" > "$out"
  fi
  echo "the daemon (pid $1) is not answering; backtrace in $out" >&2
  trap - EXIT
}
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1] or '{}'); print(d.get(sys.argv[2], ''))" "$1" "$2"; }
history() { # id client → keys in evaluation order
  "$bin/diswot" search best "$1" -k "$budget" --json --daemon "$2" --quiet |
    python3 -c "import json,sys; print('\n'.join(e['key'] for e in sorted(json.load(sys.stdin)['best'], key=lambda e: e['index'])))"
}

# 1. The disturbed search.
client="tcp://127.0.0.1:$port"
daemon=$(start_daemon "$work/state" "$port" "$(( port + 1 ))" "$work/daemon.log")
wait_client "$client"
ip netns exec "$ns" "$bin/diswot-worker" --connect "tcp://$net.1:$(( port + 1 ))" "${beat[@]}" --capabilities score \
  --threads 1 --name remote 2> "$work/remote.log" &
id=$(field "$("$bin/diswot" search start --daemon "$client" "${options[@]}" --json --quiet)" id)
echo "search $id: $budget evaluations under faults" >&2
start=$SECONDS worker_kills=0 daemon_kills=0 partitions=0
while :; do
  s=$(status "$id" "$client"); state=$(field "$s" state); done_=$(field "$s" evaluations)
  if [ -z "$s" ]; then
    silent=$(( ${silent:-0} + 1 ))
    if [ "$silent" -ge 60 ] && kill -0 "$daemon" 2>/dev/null; then backtrace "$daemon"; exit 1; fi
  else
    silent=0
  fi
  [ "$state" = finished ] && break
  [ "$state" = failed ] && { echo "the search failed: $s" >&2; exit 1; }
  [ $(( SECONDS - start )) -gt 3600 ] && { echo "timed out at ${done_:-?} evaluations" >&2; exit 1; }
  n=${done_:-0}
  if [ "$daemon_kills" -lt 3 ] && [ "$n" -ge $(( (daemon_kills + 1) * budget / 4 )) ]; then
    kill -KILL "$daemon"; wait "$daemon" 2>/dev/null || true
    daemon_kills=$(( daemon_kills + 1 )); echo "killed the daemon at $n evaluations ($daemon_kills)" >&2
    daemon=$(start_daemon "$work/state" "$port" "$(( port + 1 ))" "$work/daemon.log"); wait_client "$client"
  elif [ "$partitions" -lt 1 ] && [ "$n" -ge $(( budget * 3 / 5 )) ]; then
    ip link set "$host" down; sleep 3; ip link set "$host" up
    partitions=1; echo "cut the remote worker off for 3 s at $n evaluations" >&2
  elif [ "$worker_kills" -lt 20 ] && [ "$n" -ge $(( (worker_kills + 1) * budget / 24 )) ]; then
    victim=$(pgrep -P "$daemon" -f diswot-worker | shuf -n 1 || true)
    if [ -n "$victim" ]; then
      kill -KILL "$victim"; worker_kills=$(( worker_kills + 1 )); echo "killed local worker $victim at $n evaluations ($worker_kills)" >&2
    fi
  fi
  sleep 0.5
done
disturbed_seconds=$(( SECONDS - start ))
history "$id" "$client" > "$work/disturbed.txt"
kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true

# 2. The same search undisturbed, on a fresh state directory.
port2=$(( port + 10 )) client2="tcp://127.0.0.1:$(( port + 10 ))"
daemon=$(start_daemon "$work/state2" "$port2" "$(( port2 + 1 ))" "$work/daemon2.log")
wait_client "$client2"
id2=$(field "$("$bin/diswot" search start --daemon "$client2" "${options[@]}" --wait --json --quiet)" id)
history "$id2" "$client2" > "$work/undisturbed.txt"
kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true

# 3. The same search in one process.
"$bin/diswot" search --local "${options[@]}" --threads 2 --jsonl "$work/local.jsonl" --quiet > /dev/null
python3 -c "import json,sys; print('\n'.join(json.loads(l)['key'] for l in open(sys.argv[1])))" "$work/local.jsonl" > "$work/local.txt"

rows=$(wc -l < "$work/disturbed.txt"); unique=$(sort -u "$work/disturbed.txt" | wc -l)
echo "faults: $worker_kills worker kills, $daemon_kills daemon kills, $partitions partition; $disturbed_seconds s"
echo "disturbed: $rows evaluations stored, $unique distinct (budget $budget)"
ok=1
[ "$rows" -eq "$budget" ] && [ "$unique" -eq "$budget" ] || ok=0
cmp -s "$work/disturbed.txt" "$work/undisturbed.txt" && echo "history equals the undisturbed daemon search's: yes" || { echo "history equals the undisturbed daemon search's: NO"; ok=0; }
cmp -s "$work/disturbed.txt" "$work/local.txt" && echo "history equals search --local's: yes" || { echo "history equals search --local's: NO"; ok=0; }
echo "local worker restarts logged: $(grep -c "restarting" "$work/daemon.log" || true)"
[ "$ok" -eq 1 ] && echo "fault suite: passed" || { echo "fault suite: FAILED (logs in $work)"; trap - EXIT; exit 1; }
