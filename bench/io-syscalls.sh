#!/usr/bin/env bash
# System calls per request of each generator on the nginx fixture (one worker on CPU 1, the
# generator on CPU 0, one thread, 50 keep-alive connections): `perf stat -e
# raw_syscalls:sys_enter` over the whole process, divided by its responses; then the calls by
# name for surge on each backend (what a request costs: io_uring_enter, or epoll_pwait2 +
# sendto + read). Start-up is in the count (a few hundred calls: under 0.002 a request at
# these counts). Needs perf and the tracepoints (root, or perf_event_paranoid <= -1).
# Usage: bench/io-syscalls.sh [DURATION=5] [CONNS=50]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
trap nginx_stop EXIT
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"
out=$(mktemp -d /tmp/surge-syscalls.XXXXXX)
NAMES="io_uring_enter,epoll_pwait2,epoll_wait,sendto,write,read,recvfrom"
EVENTS="raw_syscalls:sys_enter"
for n in ${NAMES//,/ }; do EVENTS+=",syscalls:sys_enter_$n"; done

# count NAME COMMAND...: "NAME responses syscalls" and the per-name counts into $out/NAME.perf
count() {
	local name=$1 reqs
	shift
	perf stat -x, -e "$EVENTS" -o "$out/$name.perf" taskset -c "$GEN_CPU" "$@" >"$out/stdout" 2>"$out/stderr" || true
	case $name in
	surge-*) reqs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["responses"])' "$out/result.json") ;;
	wrk) reqs=$(awk '/requests in/ {print $1}' "$out/stdout") ;;
	esac
	echo "$name $reqs"
}

printf "%-12s %10s %12s %10s   %s\n" generator responses syscalls per_req "by name, per request"
for g in surge-uring surge-epoll wrk; do
	case $g in
	surge-*) read -r _ reqs < <(count "$g" "$SURGE" run -q --io "${g#surge-}" -t 1 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL") ;;
	wrk) read -r _ reqs < <(count wrk wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$URL") ;;
	esac
	total=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$out/$g.perf")
	names=$(awk -F, -v r="$reqs" '$3 ~ /^syscalls:sys_enter_/ && $1 > 0 {
		sub("syscalls:sys_enter_", "", $3); printf "%s %.3f  ", $3, $1 / r }' "$out/$g.perf")
	printf "%-12s %10d %12d %10.3f   %s\n" "$g" "$reqs" "$total" "$(echo "$total / $reqs" | bc -l)" "$names"
done
rm -rf "$out"
