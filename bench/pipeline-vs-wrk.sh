#!/usr/bin/env bash
# HTTP/1.1 pipelining, surge run --pipeline N against wrk with bench/wrk-pipeline.lua, in the
# same run: each target (nginx's `return 200`, one worker; surge serve /health, one worker)
# pinned to CPU 1, each generator to CPU 0 with one thread and 50 connections, alternating.
# Reports requests per generator CPU-second (user+sys, /usr/bin/time), the ratio surge/wrk,
# and surge's p50 (wrk's latency is one per pipeline, so it is not comparable).
# Usage: bench/pipeline-vs-wrk.sh   [ROUNDS=3] [DURATION=5] [PIPELINES="1 4 16"] [CONNS=50]
# wrk is used when it is on the PATH (Debian's wrk package) and said absent otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
PIPELINES=${PIPELINES:-1 4 16}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
SERVE_PID=
out=$(mktemp -d /tmp/surge-bench-pipeline.XXXXXX)
cleanup() {
	serve_stop
	nginx_stop
	rm -rf "$out"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
nginx_start
serve_start
peers=(surge)
if command -v wrk >/dev/null; then peers+=(wrk); else echo "# wrk is absent (apt-get install wrk): surge alone"; fi

# measure NAME N URL: prints "requests cpu_s p50_ms" for one run
measure() {
	local name=$1 n=$2 url=$3 reqs p50=-
	case $name in
	surge)
		/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" "$SURGE" run -q -t 1 \
			-c "$CONNS" -d "${DURATION}s" --pipeline "$n" --json "$out/r.json" "$url" \
			>"$out/stdout" 2>&1 || true
		read -r reqs p50 < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["responses"], d["latency_ms"]["p50"])' "$out/r.json")
		;;
	wrk)
		local script=()
		[ "$n" -gt 1 ] && script=(-s bench/wrk-pipeline.lua)
		/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" wrk -t 1 -c "$CONNS" \
			-d "${DURATION}s" "${script[@]}" "$url" -- "$n" >"$out/stdout" 2>&1 || true
		reqs=$(awk '/requests in/ {print $1}' "$out/stdout")
		;;
	esac
	read -r user sys < <(tail -n 1 "$out/time")
	echo "${reqs:-0} $(echo "$user + $sys" | bc -l) $p50"
}

echo "# targets on CPU ${SERVER_CPU:-1} (one worker), generators on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s"
for target in nginx serve; do
	url="http://127.0.0.1:$NGINX_PORT/"
	[ $target = serve ] && url="http://127.0.0.1:$SERVE_PORT/health"
	for n in $PIPELINES; do
		for round in $(seq "$ROUNDS"); do
			order=("${peers[@]}")
			[ $((round % 2)) = 0 ] && [ ${#peers[@]} -gt 1 ] && order=(wrk surge)
			for p in "${order[@]}"; do
				read -r reqs cpu p50 < <(measure "$p" "$n" "$url")
				rate=$(echo "if ($cpu > 0) $reqs / $cpu else 0" | bc -l)
				printf "%-6s N=%-3s round %d  %-6s %9d req %6.2f cpu-s %9.0f req/cpu-s %7.0f req/s  p50 %s ms\n" \
					"$target" "$n" "$round" "$p" "$reqs" "$cpu" "$rate" \
					"$(echo "$reqs / $DURATION" | bc -l)" "$p50"
				echo "$target $n $p $rate $(echo "$reqs / $DURATION" | bc -l) $p50" >>"$out/results"
			done
		done
	done
done

echo
echo "# medians: requests per generator CPU-second, requests per second, surge's p50"
printf "%-6s %-4s %14s %14s %8s %12s %12s %9s\n" target N surge wrk ratio "surge req/s" "wrk req/s" "p50 ms"
for target in nginx serve; do
	for n in $PIPELINES; do
		col() { awk -v t="$target" -v n="$n" -v p="$1" -v c="$2" '$1==t && $2==n && $3==p {print $c}' "$out/results" | median; }
		s=$(col surge 4) w=$(col wrk 4) sr=$(col surge 5) wr=$(col wrk 5) p50=$(col surge 6)
		ratio=-
		[ -n "$w" ] && [ "$w" != 0 ] && ratio=$(printf "%.2f" "$(echo "$s / $w" | bc -l)")
		printf "%-6s %-4s %14.0f %14.0f %8s %12.0f %12.0f %9s\n" "$target" "$n" "$s" "${w:-0}" "$ratio" "$sr" "${wr:-0}" "$p50"
	done
done
