#!/usr/bin/env bash
# surge serve vs nginx as a target, in the same run: each server pinned to CPU 1 with one
# worker, wrk on CPU 0 (1 thread, 50 connections) against /health and nginx's `return 200`,
# alternating. Prints requests per second of each and the surge/nginx ratio.
# Usage: bench/serve-vs-nginx.sh   (ROUNDS=3 DURATION=5 CONNS=50 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
. bench/nginx-fixture.sh
SERVE_PID=
cleanup() {
	serve_stop
	nginx_stop
}
trap cleanup EXIT
nginx_start
serve_start

rps() { taskset -c "${GEN_CPU:-0}" wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
results=$(mktemp)
echo "# wrk -t 1 -c $CONNS -d ${DURATION}s on CPU ${GEN_CPU:-0}; servers on CPU ${SERVER_CPU:-1}, one worker each"
for round in $(seq "$ROUNDS"); do
	s=$(rps "http://127.0.0.1:$SERVE_PORT/health")
	n=$(rps "http://127.0.0.1:$NGINX_PORT/")
	printf "round %d  surge serve /health %10.0f req/s   nginx return 200 %10.0f req/s   ratio %.3f\n" \
		"$round" "$s" "$n" "$(echo "$s / $n" | bc -l)"
	echo "$s $n" >>"$results"
done
awk '{s+=$1; n+=$2} END {printf "mean         surge %10.0f req/s   nginx %10.0f req/s   ratio %.3f\n", s/NR, n/NR, s/n}' "$results"
rm -f "$results"
