#!/usr/bin/env bash
# The cost of the scenario VM's instruction hook: requests per generator CPU-second of two
# scenarios — bench/scenarios/static-weighted.lua (a few hundred instructions a request: the
# hook is rare) and bench/scenarios/lua-heavy.lua (~100,000 a request: it fires ~10 times) —
# for each binary named, alternating, against the nginx fixture (nginx on CPU 1, surge on
# CPU 0, one thread, 50 users). Build the binaries to compare yourself (e.g. one with the
# lua_sethook call removed). Usage: bench/scenario-hook.sh NAME=BINARY... ; ROUNDS=5 DURATION=4
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4}
GEN_CPU=${GEN_CPU:-0}
[ $# -gt 0 ] || { echo "usage: $0 NAME=BINARY..." >&2; exit 2; }
. bench/nginx-fixture.sh
trap nginx_stop EXIT
nginx_start
URL="http://127.0.0.1:$NGINX_PORT"
out=$(mktemp -d /tmp/surge-bench.XXXXXX)

echo "# binary scenario req/cpu-s   (nginx on CPU 1, surge on CPU $GEN_CPU, 1 thread, 50 users, ${DURATION}s, $ROUNDS rounds)"
for round in $(seq "$ROUNDS"); do
	for scen in static-weighted lua-heavy; do
		for pair in "$@"; do
			name=${pair%%=*} bin=${pair#*=}
			/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" "$bin" run -q -t 1 -c 50 \
				-d "${DURATION}s" --json "$out/r.json" --host "$URL" "bench/scenarios/$scen.lua" \
				>/dev/null 2>&1 || true
			read -r user sys < <(tail -n 1 "$out/time")
			per=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"] / (float(sys.argv[2]) + float(sys.argv[3])))' "$out/r.json" "$user" "$sys")
			printf "round %d  %-10s %-16s %9.0f req/cpu-s\n" "$round" "$name" "$scen" "$per"
			echo "$name $scen $per" >>"$out/results"
		done
	done
done
python3 - "$out/results" "$1" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
first = sys.argv[2].split("=")[0]
for scen in ("static-weighted", "lua-heavy"):
    base = statistics.median(float(r[2]) for r in rows if r[0] == first and r[1] == scen)
    for name in dict.fromkeys(r[0] for r in rows):
        m = statistics.median(float(r[2]) for r in rows if r[0] == name and r[1] == scen)
        print(f"median {scen:16s} {name:10s} {m:9.0f} req/cpu-s  {m / base:.3f} of {first}")
PY
rm -rf "$out"
