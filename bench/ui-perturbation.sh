#!/usr/bin/env bash
# Does the live UI perturb the load? surge run headless and surge run --ui with a real browser
# (Debian's Chromium through tests/browser/watch.mjs) watching the page to the end, alternating
# round by round, against the nginx fixture: nginx and the browser on CPU 1, the generator on
# CPU 0 with one thread and 50 connections. Reports requests per generator CPU-second (user +
# sys of the whole process: the UI thread's work counts) for each, their ratio per round and its
# median; and, for the watched runs, whether the p99 the page showed for each second equals the
# result document's p99 of the same second. Usage: bench/ui-perturbation.sh [ROUNDS=5] [DURATION=10]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
BROWSER_DIR=build/browser
. bench/nginx-fixture.sh

# the browser harness, as tests/integration/test_ui.py installs it
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	mkdir -p "$BROWSER_DIR"
	cp tests/browser/package.json tests/browser/package-lock.json "$BROWSER_DIR"/
	(cd "$BROWSER_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
cp tests/browser/steps.mjs tests/browser/watch.mjs "$BROWSER_DIR"/

ulimit -n "$(ulimit -Hn)"
trap nginx_stop EXIT
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"
out=$(mktemp -d /tmp/surge-bench-ui.XXXXXX)

per_cpu() { # result.json time-file: requests per CPU-second
	python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
user, sys_s, _ = open(sys.argv[2]).read().splitlines()[-1].split()  # after any "exited with" line
print(doc["totals"]["responses"] / (float(user) + float(sys_s)))
PY
}

headless() {
	/usr/bin/time -f "%U %S %M" -o "$out/time" taskset -c "$GEN_CPU" "$SURGE" run -q -t 1 \
		-c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL" >/dev/null 2>&1 || true
	per_cpu "$out/result.json" "$out/time"
}

watched() {
	local url=""
	/usr/bin/time -f "%U %S %M" -o "$out/time" taskset -c "$GEN_CPU" "$SURGE" run -q -t 1 \
		--ui=127.0.0.1:0 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL" \
		>/dev/null 2>"$out/stderr" &
	local pid=$!
	for _ in $(seq 100); do
		url=$(grep -o 'UI at http://[^ ]*' "$out/stderr" 2>/dev/null | head -1 | cut -c7-) && [ -n "$url" ] && break
		sleep 0.05
	done
	[ -n "$url" ] || { echo "no UI address: $(cat "$out/stderr")" >&2; exit 1; }
	taskset -c "$SERVER_CPU" node "$BROWSER_DIR/watch.mjs" --url "$url" --seconds $((DURATION + 30)) \
		--shots "$out/shots" >"$out/watch" 2>&1 || true
	wait "$pid" || true
	per_cpu "$out/result.json" "$out/time"
	# the page's p99 of each second against the document's (timeline[].t is the second's end)
	python3 - "$out/result.json" "$out/watch" >>"$out/p99" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
seen = [json.loads(l) for l in open(sys.argv[2]) if l.startswith('{"done"')]
page = {s: p for s, p in (seen[0]["seconds"] if seen else [])}
same = differ = 0
for s, p in enumerate(doc["timeline"]):  # entry i is second i
    if p["requests"] and s in page:
        if page[s] == p["p99_ms"]:
            same += 1
        else:
            differ += 1
            print(f"second {s}: page {page[s]} document {p['p99_ms']}", file=sys.stderr)
print(same, differ)
PY
}

: >"$out/ratios"
: >"$out/p99"
echo "# requests per generator CPU-second, headless and with a browser watching --ui (nginx and the browser on CPU $SERVER_CPU, surge on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s)"
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		a=$(headless)
		b=$(watched)
	else
		b=$(watched)
		a=$(headless)
	fi
	r=$(echo "$b / $a" | bc -l)
	printf "round %d  headless %9.0f  watched %9.0f  watched/headless %.4f\n" "$round" "$a" "$b" "$r"
	echo "$r" >>"$out/ratios"
done
printf "median watched/headless %.4f over %d rounds\n" "$(median <"$out/ratios")" "$ROUNDS"
awk '{s += $1; d += $2} END {printf "live p99 = final p99 in %d of %d seconds with responses\n", s, s + d}' "$out/p99"
rm -rf "$out"
