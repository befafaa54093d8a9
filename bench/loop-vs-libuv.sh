#!/usr/bin/env bash
# The event-loop decision in docs/architecture.md, measured: bench/loop_client.c built on surge's
# own epoll loop and on libuv, each on CPU 0 with one thread and 50 keep-alive connections against
# nginx (one worker) on CPU 1, alternating. Reports requests per client CPU-second (user+sys),
# their medians and the own/libuv ratio. Usage: [ROUNDS=3] [DURATION=5] bench/loop-vs-libuv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
GEN_CPU=${GEN_CPU:-0}
OUT=build/bench
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -Isrc)
COMMON=(src/core/http_response_parse.c src/core/http_request_build.c src/core/buf.c src/core/net.c)
OWN=(src/core/loop.c src/core/loop_epoll.c src/core/clock.c)

pkg-config --exists libuv || { echo "libuv not found: run scripts/deps.sh --bench" >&2; exit 1; }
mkdir -p "$OUT"
cc "${CFLAGS[@]}" -o "$OUT/loop_client_own" bench/loop_client.c "${COMMON[@]}" "${OWN[@]}"
# shellcheck disable=SC2046 # pkg-config output is meant to split into words
cc "${CFLAGS[@]}" -DUSE_LIBUV $(pkg-config --cflags libuv) -o "$OUT/loop_client_libuv" \
	bench/loop_client.c "${COMMON[@]}" $(pkg-config --libs libuv)

. bench/nginx-fixture.sh
# nginx_stop waits without a limit: give nginx 5 s to exit on SIGTERM, then SIGKILL it.
stop() {
	if [ -n "${NGINX_PID:-}" ]; then
		kill "$NGINX_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$NGINX_PID" 2>/dev/null || true
	fi
	nginx_stop || true
}
results=$(mktemp /tmp/surge-loop-bench.XXXXXX)
trap 'stop; rm -f "$results"' EXIT
nginx_start

echo "# loop requests cpu_s req_per_cpu_s   (nginx on CPU ${SERVER_CPU:-1}, client on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s)"
for round in $(seq "$ROUNDS"); do
	for variant in own libuv; do
		line=$(timeout $((DURATION + 30)) taskset -c "$GEN_CPU" \
			"$OUT/loop_client_$variant" "$NGINX_PORT" "$CONNS" "$DURATION")
		echo "round $round  $line"
		echo "$line" | sed -E 's/^loop=([a-z]+) .*req_per_cpu_s=([0-9.]+)$/\1 \2/' >>"$results"
	done
done

own=$(awk '$1=="own" {print $2}' "$results" | median)
libuv=$(awk '$1=="libuv" {print $2}' "$results" | median)
echo
echo "# median requests per client CPU-second"
awk -v o="$own" -v l="$libuv" 'BEGIN {printf "own    %9.0f\nlibuv  %9.0f\nown/libuv ratio %.3f\n", o, l, o / l}'
