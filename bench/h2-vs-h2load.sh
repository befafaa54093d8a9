#!/usr/bin/env bash
# HTTP/2, surge run --h2 against h2load in the same run: nginx (`return 200`, one worker,
# http2) pinned to CPU 1 over h2c (prior knowledge) and over TLS (ALPN h2), each generator
# pinned to CPU 0 with one thread, the same connections and streams per connection (surge's
# --streams, h2load's -m), alternating which goes first. Reports requests per generator
# CPU-second (user+sys, /usr/bin/time), the ratio surge/h2load, requests per second and
# surge's p50.
# Usage: bench/h2-vs-h2load.sh   [ROUNDS=3] [DURATION=5] [CONNS=50] [STREAMS="1 10"]
#        [PROTOS="h2c h2"]
# h2load is used when it is on the PATH (Debian's nghttp2-client) and said absent otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
STREAMS=${STREAMS:-1 10}
PROTOS=${PROTOS:-h2c h2}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
out=$(mktemp -d /tmp/surge-bench-h2.XXXXXX)
cleanup() {
	nginx_stop
	rm -rf "$out"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
peers=(surge)
if command -v h2load >/dev/null; then peers+=(h2load); else echo "# h2load is absent (apt-get install nghttp2-client): surge alone"; fi

# measure NAME M URL: prints "requests cpu_s p50_ms" for one run
measure() {
	local name=$1 m=$2 url=$3 reqs p50=-
	case $name in
	surge)
		/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" "$SURGE" run -q -t 1 -k \
			--h2 -c "$CONNS" --streams "$m" -d "${DURATION}s" --json "$out/r.json" "$url" \
			>"$out/stdout" 2>&1 || true
		read -r reqs p50 < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["responses"], d["latency_ms"]["p50"])' "$out/r.json")
		;;
	h2load)
		/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" h2load -t 1 \
			-c "$CONNS" -m "$m" -D "$DURATION" "$url" >"$out/stdout" 2>&1 || true
		reqs=$(awk '/^requests:/ {print $8}' "$out/stdout")
		;;
	esac
	read -r user sys < <(tail -n 1 "$out/time")
	echo "${reqs:-0} $(echo "$user + $sys" | bc -l) $p50"
}

echo "# nginx on CPU ${SERVER_CPU:-1} (one worker), generators on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s"
for proto in $PROTOS; do
	NGINX_PROTO=$proto nginx_start
	for m in $STREAMS; do
		for round in $(seq "$ROUNDS"); do
			order=("${peers[@]}")
			[ $((round % 2)) = 0 ] && [ ${#peers[@]} -gt 1 ] && order=(h2load surge)
			for p in "${order[@]}"; do
				read -r reqs cpu p50 < <(measure "$p" "$m" "$NGINX_URL")
				rate=$(echo "if ($cpu > 0) $reqs / $cpu else 0" | bc -l)
				printf "%-4s m=%-4s round %d  %-6s %9d req %6.2f cpu-s %9.0f req/cpu-s %7.0f req/s  p50 %s ms\n" \
					"$proto" "$m" "$round" "$p" "$reqs" "$cpu" "$rate" \
					"$(echo "$reqs / $DURATION" | bc -l)" "$p50"
				echo "$proto $m $p $rate $(echo "$reqs / $DURATION" | bc -l) $p50" >>"$out/results"
			done
		done
	done
	nginx_stop
done

echo
echo "# medians: requests per generator CPU-second, requests per second, surge's p50"
printf "%-5s %-5s %14s %14s %8s %12s %12s %9s\n" proto m surge h2load ratio "surge req/s" "h2load req/s" "p50 ms"
for proto in $PROTOS; do
	for m in $STREAMS; do
		col() { awk -v t="$proto" -v n="$m" -v p="$1" -v c="$2" '$1==t && $2==n && $3==p {print $c}' "$out/results" | median; }
		s=$(col surge 4) w=$(col h2load 4) sr=$(col surge 5) wr=$(col h2load 5) p50=$(col surge 6)
		ratio=-
		[ -n "$w" ] && [ "$w" != 0 ] && ratio=$(printf "%.2f" "$(echo "$s / $w" | bc -l)")
		printf "%-5s %-5s %14.0f %14.0f %8s %12.0f %12.0f %9s\n" "$proto" "$m" "$s" "${w:-0}" "$ratio" "$sr" "${wr:-0}" "$p50"
	done
done
