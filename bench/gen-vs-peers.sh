#!/usr/bin/env bash
# surge run vs its peers on the same nginx fixture, in the same run: nginx (one worker) on
# CPU 1, each generator on CPU 0 with one thread and 50 keep-alive connections, alternating.
# Reports requests per generator CPU-second (user+sys) and the ratio to wrk, then memory per
# connection at -c 10000. Usage: bench/gen-vs-peers.sh [ROUNDS=3] [DURATION=5]
# SURGE_BASE=path/to/another/surge adds it as "base", run beside build/surge in every round,
# and prints each round's ratio surge/base and their median: a before/after comparison on a
# busy host, paired round by round (they take turns going first). PEERS="surge base" runs only
# those; MEMORY=0 skips the memory part. The peers surge-uring and surge-epoll are build/surge
# with --io uring / --io epoll (the event loop's backend; plain `surge` runs with --io auto, or
# SURGE_IO's), e.g. PEERS="surge-uring surge-epoll wrk" for both backends beside wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
. bench/nginx-fixture.sh
ulimit -n "$(ulimit -Hn)"
trap nginx_stop EXIT
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"
out=$(mktemp -d /tmp/surge-bench.XXXXXX)

# run NAME COMMAND...: prints "NAME requests cpu_s" using the tool's own request count.
run() {
	local name=$1
	shift
	/usr/bin/time -f "%U %S %M" -o "$out/time" taskset -c "$GEN_CPU" "$@" >"$out/stdout" 2>"$out/stderr" || true
	local reqs
	case $name in
	surge | surge-* | base) reqs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["responses"])' "$out/result.json") ;;
	wrk) reqs=$(awk '/requests in/ {print $1}' "$out/stdout") ;;
	hey) reqs=$(awk '/\[200\]/ {print $2}' "$out/stdout") ;;
	h2load) reqs=$(awk '/^requests:/ {print $8}' "$out/stdout") ;;
	ab) reqs=$(awk '/^Complete requests:/ {print $3}' "$out/stdout") ;;
	esac
	read -r user sys rss < <(tail -n 1 "$out/time") # after "Command exited with non-zero status 4" (a saturated generator)
	echo "$name ${reqs:-0} $(echo "$user + $sys" | bc -l) $rss"
}

peers=(surge wrk)
[ -n "${SURGE_BASE:-}" ] && peers=(surge base "${peers[@]:1}")
command -v hey >/dev/null && peers+=(hey)
command -v h2load >/dev/null && peers+=(h2load)
command -v ab >/dev/null && peers+=(ab)
if [ -n "${PEERS:-}" ]; then read -ra peers <<<"$PEERS"; fi # e.g. PEERS="surge base"

results=$out/results
: >"$results"
echo "# generator requests cpu_s req_per_cpu_s   (nginx on CPU 1, generators on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s)"
for round in $(seq "$ROUNDS"); do
	order=("${peers[@]}")
	# surge and base take turns going first: neither always runs on a host just warmed up
	[ "${order[0]}" = surge ] && [ "${order[1]:-}" = base ] && [ $((round % 2)) = 0 ] &&
		order=(base surge "${order[@]:2}")
	for p in "${order[@]}"; do
		case $p in
		surge) line=$(run surge "$SURGE" run -q -t 1 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL") ;;
		surge-uring | surge-epoll)
			line=$(run "$p" "$SURGE" run -q --io "${p#surge-}" -t 1 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL") ;;
		base) line=$(run base "$SURGE_BASE" run -q -t 1 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json" "$URL") ;;
		wrk) line=$(run wrk wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$URL") ;;
		hey) line=$(GOMAXPROCS=1 run hey hey -z "${DURATION}s" -c "$CONNS" "$URL") ;;
		h2load) line=$(run h2load h2load --h1 -t 1 -c "$CONNS" -D "$DURATION" "$URL") ;;
		ab) line=$(run ab ab -q -k -c "$CONNS" -t "$DURATION" -n 100000000 "$URL") ;;
		esac
		read -r name reqs cpu _ <<<"$line"
		rate=$(echo "if ($cpu > 0) $reqs / $cpu else 0" | bc -l)
		printf "round %d  %-11s %10d req  %6.2f cpu-s  %9.0f req/cpu-s\n" "$round" "$name" "$reqs" "$cpu" "$rate"
		echo "$name $rate" >>"$results"
		echo "$name $rate" >>"$out/round$round"
	done
done

echo
echo "# median requests per generator CPU-second"
wrk_median=$(awk '$1=="wrk" {print $2}' "$results" | median)
wrk_median=${wrk_median:-0}
for p in "${peers[@]}"; do
	m=$(awk -v p="$p" '$1==p {print $2}' "$results" | median)
	if [ "$wrk_median" = 0 ]; then
		printf "%-11s %9.0f\n" "$p" "$m"
	else
		printf "%-11s %9.0f   ratio to wrk %.2f\n" "$p" "$m" "$(echo "$m / $wrk_median" | bc -l)"
	fi
done

if [ -n "${SURGE_BASE:-}" ]; then
	echo
	echo "# surge / base, round by round (the same round's runs, back to back)"
	for round in $(seq "$ROUNDS"); do
		awk '$1=="surge" {s=$2} $1=="base" {b=$2} END {if (b > 0) printf "%.4f\n", s / b}' "$out/round$round"
	done | tee "$out/ratios" | tr '\n' ' '
	echo
	printf "median surge/base %.4f over %d rounds\n" "$(median <"$out/ratios")" "$ROUNDS"
fi
[ "${MEMORY:-1}" = 0 ] && { rm -rf "$out"; exit 0; }

echo
echo "# memory per connection: max RSS at -c 10000 minus max RSS at -c 10, over 9990 connections"
for p in surge wrk; do
	case $p in
	surge)
		small=$(run surge "$SURGE" run -q -t 1 -c 10 -d 3s --json "$out/result.json" "$URL" | awk '{print $4}')
		big=$(run surge "$SURGE" run -q -t 1 -c 10000 -d 5s --timeout 30s --json "$out/result.json" "$URL" | awk '{print $4}')
		;;
	wrk)
		small=$(run wrk wrk -t 1 -c 10 -d 3s "$URL" | awk '{print $4}')
		big=$(run wrk wrk -t 1 -c 10000 -d 5s --timeout 30s "$URL" | awk '{print $4}')
		;;
	esac
	printf "%-7s %6.2f KiB per connection (max RSS %d KiB at -c 10, %d KiB at -c 10000)\n" "$p" \
		"$(echo "($big - $small) / 9990" | bc -l)" "$small" "$big"
done
rm -rf "$out"
