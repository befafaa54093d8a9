#!/usr/bin/env bash
# surge serve vs nginx over HTTP/2 — without TLS (h2c, prior knowledge), or with PROTO=h2
# over TLS with ALPN, both servers with the same self-signed certificate — in the same run: each
# server pinned to CPU 1 with one worker, h2load on CPU 0 (one thread, CONNS connections,
# STREAMS streams each) against /health and nginx's `return 200`, alternating. Prints requests
# per second of each, and each server's own CPU time per request (from /proc: what it paid,
# which other work on a busy host moves much less than the rate), with the surge/nginx ratios
# and the host's load average.
# Usage: bench/serve-h2-vs-nginx.sh   (ROUNDS=3 REQUESTS=200000 CONNS=50 STREAMS=10 PROTO=h2c)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CONNS=${CONNS:-50}
STREAMS=${STREAMS:-10}
SURGE=${SURGE:-build/surge}
PROTO=${PROTO:-h2c}
command -v h2load >/dev/null || { echo "h2load is not installed (nghttp2-client)" >&2; exit 1; }
. bench/nginx-fixture.sh
SERVE_PID=
cleanup() {
	serve_stop
	nginx_stop
}
trap cleanup EXIT
NGINX_PROTO=$PROTO nginx_start
[ "$PROTO" = h2 ] && SERVE_TLS_DIR=$NGINX_DIR
serve_start
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
TICK_US=$((1000000 / $(getconf CLK_TCK)))

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# "REQ_PER_S CPU_US_PER_REQUEST" for one h2load run against URL, the server being PID
measure() {
	local before after rate
	before=$(cpu_ticks "$2")
	rate=$(taskset -c "${GEN_CPU:-0}" h2load -n "$REQUESTS" -c "$CONNS" -m "$STREAMS" -t 1 "$1" |
		awk '/^finished in/ {print $4}
		     /^status codes:/ && $3 + 0 != '"$REQUESTS"' {print "not all 2xx: " $0 > "/dev/stderr"}')
	after=$(cpu_ticks "$2")
	echo "$rate $(echo "($after - $before) * $TICK_US / $REQUESTS" | bc -l)"
}
results=$(mktemp)
echo "# $PROTO: h2load -n $REQUESTS -c $CONNS -m $STREAMS -t 1 on CPU ${GEN_CPU:-0}; servers on CPU ${SERVER_CPU:-1}, one worker each"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
	read -r s scpu < <(measure "$SERVE_URL/health" "$SERVE_PID")
	read -r n ncpu < <(measure "$NGINX_URL" "$NGINX_WORKER")
	printf "round %d  surge serve %9.0f req/s %6.2f us CPU/req   nginx %9.0f req/s %6.2f us CPU/req   rate ratio %.3f  CPU ratio %.3f\n" \
		"$round" "$s" "$scpu" "$n" "$ncpu" "$(echo "$s / $n" | bc -l)" "$(echo "$scpu / $ncpu" | bc -l)"
	echo "$s $n $scpu $ncpu" >>"$results"
done
awk '{s+=$1; n+=$2; sc+=$3; nc+=$4} END {printf "mean     surge serve %9.0f req/s %6.2f us CPU/req   nginx %9.0f req/s %6.2f us CPU/req   rate ratio %.3f  CPU ratio %.3f\n", s/NR, sc/NR, n/NR, nc/NR, s/n, sc/nc}' "$results"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$results"
