#!/usr/bin/env bash
# surge serve vs nginx as a target, in the same run: each server pinned to CPU 1 with one
# worker, wrk on CPU 0 (1 thread, 50 connections) against /health and nginx's `return 200`,
# alternating. Prints, for each server and round, requests per second, the server's own CPU
# per request (its process's user + system time over the round, from /proc: nginx's worker,
# serve's whole process) and, with SYSCALLS=1, its system calls per request (`perf stat -e
# raw_syscalls:sys_enter -p PID` over the round: needs perf and the tracepoint, root or
# perf_event_paranoid <= -1); then the medians and each surge's ratio to nginx. On a host
# where the server's core is shared, CPU per request is the figure; req/s moves with the host.
# SURGE_BASE=path/to/another/surge adds it as "base", run beside build/surge in every round (a
# before/after); SURGE_IO=epoll (or uring) is passed on to both.
# Usage: bench/serve-vs-nginx.sh   (ROUNDS=3 DURATION=5 CONNS=50 SYSCALLS=1 SURGE_BASE=...)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
. bench/nginx-fixture.sh
BASE_PID=
cleanup() {
	serve_stop || true
	if [ -n "$BASE_PID" ]; then
		kill "$BASE_PID" 2>/dev/null || true
		wait "$BASE_PID" 2>/dev/null || true
	fi
	nginx_stop || true
}
trap cleanup EXIT
nginx_start
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
peers=(surge nginx)
if [ -n "${SURGE_BASE:-}" ]; then
	SURGE=$SURGE_BASE serve_start
	BASE_PID=$SERVE_PID BASE_PORT=$SERVE_PORT SERVE_PID=
	peers=(surge base nginx)
fi
serve_start

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# one round against URL, the server being PID: "req/s cpu_us_per_req syscalls_per_req"
round() {
	local url=$1 pid=$2 t0 t1 out reqs rps calls=0 perf_pid=
	out=$(mktemp)
	if [ "${SYSCALLS:-0}" = 1 ]; then
		perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$out.perf" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	t0=$(ticks "$pid")
	taskset -c "${GEN_CPU:-0}" wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$url" >"$out"
	t1=$(ticks "$pid")
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		calls=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$out.perf")
	fi
	reqs=$(awk '/requests in/ {print $1}' "$out")
	rps=$(awk '/Requests\/sec/ {print $2}' "$out")
	rm -f "$out" "$out.perf"
	echo "$rps $(echo "($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc -l) $(echo "$calls / $reqs" | bc -l)"
}

results=$(mktemp -d)
echo "# wrk -t 1 -c $CONNS -d ${DURATION}s on CPU ${GEN_CPU:-0}; servers on CPU ${SERVER_CPU:-1}, one worker each${SURGE_IO:+; SURGE_IO=$SURGE_IO}"
printf "%-6s %-6s %10s %12s %12s\n" round server req/s cpu_us/req syscalls/req
for r in $(seq "$ROUNDS"); do
	for p in "${peers[@]}"; do
		case $p in
		surge) line=$(round "http://127.0.0.1:$SERVE_PORT/health" "$SERVE_PID") ;;
		base) line=$(round "http://127.0.0.1:$BASE_PORT/health" "$BASE_PID") ;;
		nginx) line=$(round "http://127.0.0.1:$NGINX_PORT/" "$NGINX_WORKER") ;;
		esac
		echo "$line" >>"$results/$p"
		read -r rps cpu calls <<<"$line"
		printf "%-6s %-6s %10.0f %12.2f %12.3f\n" "$r" "$p" "$rps" "$cpu" "$calls"
	done
done
med() { awk -v f="$2" '{print $f}' "$results/$1" | median; }
echo "# medians; ratio = nginx's CPU per request / the server's (above 1: cheaper than nginx), and req/s to nginx's"
for p in "${peers[@]}"; do
	printf "median %-6s %10.0f %12.2f %12.3f   cpu ratio %.3f   req/s ratio %.3f\n" "$p" \
		"$(med "$p" 1)" "$(med "$p" 2)" "$(med "$p" 3)" \
		"$(echo "$(med nginx 2) / $(med "$p" 2)" | bc -l)" "$(echo "$(med "$p" 1) / $(med nginx 1)" | bc -l)"
done
rm -rf "$results"
