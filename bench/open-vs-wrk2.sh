#!/usr/bin/env bash
# The open model against its anchor, wrk2, in the same run: nginx (one worker) on CPU 1, each
# generator on CPU 0 with one thread and 50 keep-alive connections, at each rate of RATES,
# alternating (the two take turns going first). For each run: CPU per request (user + sys of
# the whole process over its requests), the corrected p50 (from the intended time), and for
# surge the service p50 (from the send) and the schedule lag's p99 (its self-check).
# wrk2 is not a Debian package and nothing is built here: it is used when `wrk2` (or $WRK2) is
# on the PATH, and the script says so when it is absent (surge's figures are still printed).
# SURGE_BASE=path/to/another/surge runs that build beside build/surge (a before/after).
# IDLE_POLL=1 holds the kernel's CPU latency request at 0 µs for the whole run (root: it writes
# /dev/cpu_dma_latency and keeps it open), so an idle core polls instead of halting: every peer
# and nginx run under it alike. The schedule lag at low rates is the idle core's wake-up
# (docs/performance.md "Why the lag is worst at low rates"); this shows each tool without it.
# Usage: bench/open-vs-wrk2.sh   [ROUNDS=3] [DURATION=10] [RATES="1000 2000 10000 50000"]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RATES=${RATES:-1000 2000 10000 50000}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
WRK2=${WRK2:-wrk2}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
ulimit -n "$(ulimit -Hn)"
qos_pid=
stop_all() {
	nginx_stop
	[ -z "$qos_pid" ] || kill "$qos_pid" 2>/dev/null || true
}
trap stop_all EXIT
if [ "${IDLE_POLL:-0}" = 1 ]; then
	# the request holds while the file stays open (the kernel's PM QoS interface)
	python3 -c 'import os, struct, time
fd = os.open("/dev/cpu_dma_latency", os.O_WRONLY)
os.write(fd, struct.pack("i", 0))
time.sleep(1 << 30)' &
	qos_pid=$!
	sleep 0.2
	kill -0 "$qos_pid" 2>/dev/null || { echo "IDLE_POLL=1: cannot hold /dev/cpu_dma_latency (root?)" >&2; exit 2; }
	echo "# IDLE_POLL=1: /dev/cpu_dma_latency held at 0 us: idle cores poll (every peer, and nginx)"
fi
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"
out=$(mktemp -d /tmp/surge-bench.XXXXXX)

peers=(surge)
[ -n "${SURGE_BASE:-}" ] && peers+=(base)
if command -v "$WRK2" >/dev/null; then
	peers+=(wrk2)
else
	echo "# wrk2 is absent (not a Debian package; put a build of giltene/wrk2 on the PATH as wrk2, or set WRK2=path): surge alone"
fi

count_syscalls=()
perf stat -x, -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null &&
	count_syscalls=(perf stat -x, -e raw_syscalls:sys_enter -o "$out/perf" --)

# measure CMD...: runs it on the generator's core; "$out/time" gets user, sys and voluntary
# context switches, "$out/perf" the system calls
measure() {
	echo "0,,raw_syscalls:sys_enter" >"$out/perf"
	/usr/bin/time -f "%U %S %w" -o "$out/time" "${count_syscalls[@]}" taskset -c "$GEN_CPU" "$@" \
		>"$out/stdout" 2>"$out/stderr" || true
}

# run NAME RATE: prints "requests cpu_s p50_ms service_p50_ms lag_p99_us verdict vcsw
# syscalls" (- where the tool has no such figure)
run() {
	local name=$1 rate=$2 bin=$SURGE user sys vcsw calls
	[ "$name" = base ] && bin=$SURGE_BASE
	case $name in
	surge | base) measure "$bin" run -q -t 1 -c "$CONNS" -R "$rate" -d "${DURATION}s" --json "$out/result.json" "$URL" ;;
	wrk2) measure "$WRK2" -t 1 -c "$CONNS" -R "$rate" -d "${DURATION}s" --latency "$URL" ;;
	esac
	read -r user sys vcsw < <(tail -n 1 "$out/time") # after "Command exited with non-zero status 4"
	calls=$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$out/perf")
	case $name in
	surge | base)
		python3 - "$out/result.json" "$user" "$sys" "$vcsw" "${calls:-0}" <<-'PY'
			import json, sys
			d = json.load(open(sys.argv[1]))
			g = d["generator"]
			print(d["totals"]["responses"], float(sys.argv[2]) + float(sys.argv[3]),
			      d["latency_ms"]["p50"], d["service_ms"]["p50"], g["sched_lag_p99_us"],
			      "saturated:" + g.get("saturation", {}).get("criterion", "?") if g.get("saturated") else "ok",
			      sys.argv[4], sys.argv[5])
		PY
		;;
	wrk2)
		# its p50 in the corrected (intended-time) distribution, in ms
		awk -v u="$user" -v s="$sys" -v w="$vcsw" -v c="${calls:-0}" '
			/requests in/ {reqs = $1}
			/^ *50\.000%/ && !p50 {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000} p50 = v}
			END {print reqs + 0, u + s, p50 + 0, "-", "-", "ok", w, c}' "$out/stdout"
		;;
	esac
}

results=$out/results
: >"$results"
echo "# rate generator requests cpu_s us_per_request p50_ms service_p50_ms lag_p99_us sleeps/req syscalls/req self-check"
echo "# (nginx on CPU 1, generators on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s)"
for round in $(seq "$ROUNDS"); do
	for rate in $RATES; do
		order=("${peers[@]}")
		if [ $((round % 2)) = 0 ]; then # the other way round: none always runs first
			order=()
			for ((i = ${#peers[@]} - 1; i >= 0; i--)); do order+=("${peers[i]}"); done
		fi
		for p in "${order[@]}"; do
			read -r reqs cpu p50 sp50 lag verdict vcsw calls < <(run "$p" "$rate")
			us=$(echo "if ($reqs > 0) $cpu * 1000000 / $reqs else 0" | bc -l)
			sleeps=$(echo "if ($reqs > 0) $vcsw / $reqs else 0" | bc -l)
			sc=$(echo "if ($reqs > 0) $calls / $reqs else 0" | bc -l)
			printf "round %d %6d/s %-6s %8d req %6.2f cpu-s %6.1f us/req  p50 %7.3f ms  service p50 %6s ms  lag p99 %6s us  %.2f sleeps/req  %.2f syscalls/req  %s\n" \
				"$round" "$rate" "$p" "$reqs" "$cpu" "$us" "$p50" "$sp50" "$lag" "$sleeps" "$sc" "$verdict"
			echo "$rate $p $us $p50 $sp50 $lag $sleeps $sc" >>"$results"
		done
	done
done

echo
echo "# medians over $ROUNDS rounds: CPU per request, corrected p50, service p50, schedule lag p99, sleeps and system calls per request"
for rate in $RATES; do
	anchor=$(awk -v r="$rate" '$1==r && $2=="wrk2" {print $3}' "$results" | median -)
	for p in "${peers[@]}"; do
		col() { awk -v r="$rate" -v p="$p" -v c="$1" '$1==r && $2==p && $c != "-" {print $c}' "$results" | median -; }
		us=$(col 3)
		ratio="-"
		[ "$anchor" != - ] && ratio=$(printf "%.2f" "$(echo "$us / $anchor" | bc -l)")
		printf "%6d/s %-6s %6.1f us/req (x wrk2: %s)  p50 %s ms  service p50 %s ms  lag p99 %s us  %.2f sleeps/req  %.2f syscalls/req\n" \
			"$rate" "$p" "$us" "$ratio" "$(col 4)" "$(col 5)" "$(col 6)" "$(col 7)" "$(col 8)"
	done
done
rm -rf "$out"
