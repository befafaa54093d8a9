#!/usr/bin/env bash
# A scripted scenario against plain `surge run URL`, same nginx fixture, same core, same run:
# nginx (one worker) on CPU 1, surge on CPU 0 with one thread and 50 users/connections,
# alternating. The scenario (bench/scenarios/static-weighted.lua) runs three weighted tasks
# of static requests, one with a check. Reports requests per second and per generator
# CPU-second, and the scenario's ratio to plain. Usage: bench/scenario-vs-url.sh
# [ROUNDS=3] [DURATION=5]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
trap nginx_stop EXIT
nginx_start
URL="http://127.0.0.1:$NGINX_PORT"
out=$(mktemp -d /tmp/surge-bench.XXXXXX)

# run NAME ARGS...: prints "requests rps cpu_s"
run() {
	/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" "$SURGE" run -q -t 1 \
		-c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$@" >/dev/null 2>&1 || true
	# the last line: time puts "Command exited with non-zero status N" first (exit 4 is a
	# saturated generator, which is what a throughput benchmark asks of it)
	read -r user sys < <(tail -n 1 "$out/time")
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["totals"]; print(d["requests"], d["rps"], sys.argv[2])' \
		"$out/result.json" "$(echo "$user + $sys" | bc -l)"
}

echo "# mode requests req/s cpu_s req/cpu-s   (nginx on CPU 1, surge on CPU $GEN_CPU, 1 thread, $CONNS users, ${DURATION}s)"
: >"$out/results"
for round in $(seq "$ROUNDS"); do
	for mode in plain scenario; do
		if [ "$mode" = plain ]; then
			line=$(run "$URL/")
		else
			line=$(run --host "$URL" bench/scenarios/static-weighted.lua)
		fi
		read -r reqs rps cpu <<<"$line"
		per_cpu=$(echo "if ($cpu > 0) $reqs / $cpu else 0" | bc -l)
		printf "round %d  %-8s %10d req  %9.0f req/s  %6.2f cpu-s  %9.0f req/cpu-s\n" \
			"$round" "$mode" "$reqs" "$rps" "$cpu" "$per_cpu"
		echo "$mode $rps $per_cpu" >>"$out/results"
	done
done
python3 - "$out/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda mode, i: statistics.median(float(r[i]) for r in rows if r[0] == mode)
for i, what in ((1, "req/s"), (2, "req/cpu-s")):
    p, s = med("plain", i), med("scenario", i)
    print(f"median {what:9s} plain {p:9.0f}  scenario {s:9.0f}  scenario/plain {s / p:.2f}")
PY
rm -rf "$out"
