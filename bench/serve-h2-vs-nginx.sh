#!/usr/bin/env bash
# surge serve vs nginx over HTTP/2 without TLS (h2c, prior knowledge), in the same run: each
# server pinned to CPU 1 with one worker, h2load on CPU 0 (one thread, CONNS connections,
# STREAMS streams each) against /health and nginx's `return 200`, alternating. Prints requests
# per second of each and the surge/nginx ratio, with the host's load average (other work on
# the machine moves both figures; the ratio of alternating rounds less).
# Usage: bench/serve-h2-vs-nginx.sh   (ROUNDS=3 REQUESTS=200000 CONNS=50 STREAMS=10)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CONNS=${CONNS:-50}
STREAMS=${STREAMS:-10}
SURGE=${SURGE:-build/surge}
command -v h2load >/dev/null || { echo "h2load is not installed (nghttp2-client)" >&2; exit 1; }
. bench/nginx-fixture.sh
SERVE_PID=
cleanup() {
	serve_stop
	nginx_stop
}
trap cleanup EXIT
NGINX_HTTP2=1 nginx_start
serve_start

rps() {
	taskset -c "${GEN_CPU:-0}" h2load -n "$REQUESTS" -c "$CONNS" -m "$STREAMS" -t 1 "$1" |
		awk '/^finished in/ {gsub(",", "", $4); print $4}
		     /^status codes:/ {if ($3 + 0 != '"$REQUESTS"') print "status codes: " $0 > "/dev/stderr"}'
}
results=$(mktemp)
echo "# h2load -n $REQUESTS -c $CONNS -m $STREAMS -t 1 on CPU ${GEN_CPU:-0}; servers on CPU ${SERVER_CPU:-1}, one worker each"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
	s=$(rps "http://127.0.0.1:$SERVE_PORT/health")
	n=$(rps "http://127.0.0.1:$NGINX_PORT/")
	printf "round %d  surge serve /health %10.0f req/s   nginx return 200 %10.0f req/s   ratio %.3f\n" \
		"$round" "$s" "$n" "$(echo "$s / $n" | bc -l)"
	echo "$s $n" >>"$results"
done
awk '{s+=$1; n+=$2} END {printf "mean         surge %10.0f req/s   nginx %10.0f req/s   ratio %.3f\n", s/NR, n/NR, s/n}' "$results"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$results"
