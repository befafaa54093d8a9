#!/usr/bin/env bash
# surge run over HTTPS/1.1 against its peers on the same nginx (TLS 1.3 and 1.2, a certificate
# made here), in the same run: nginx (one worker) on CPU 1, each generator on CPU 0, one
# thread, alternating rounds, medians and ratios to wrk. Usage: bench/tls-vs-wrk.sh
#   MODE=keepalive (default): 50 keep-alive connections, requests per generator CPU-second
#     (user+sys): surge, wrk, h2load --h1.
#   MODE=handshake: a new connection (and handshake) per request, handshakes per generator
#     CPU-second: surge --new-conn-every 1 with session resumption (surge) and without
#     (surge-full: --no-tls-resume), openssl s_time -new (full) and -reuse (resumed), one
#     connection at a time, and h2load --h1 with one request per connection (-n = -c).
#     nginx logs each request's connection and $ssl_session_reused: the connections each tool
#     made and how many of them resumed are counted by the server, not by the tool.
# ROUNDS=3 DURATION=5 CONNS=50 TLS=1.3 (or 1.2) NGINX_CERT=rsa (or ec) H2LOAD_N=2000;
# SURGE_BASE=an older surge adds it as "base" beside build/surge in every keep-alive round
# (they take turns going first) and prints surge/base round by round; PEERS="surge base" runs
# only those.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
MODE=${MODE:-keepalive}
TLS=${TLS:-1.3}
SURGE=${SURGE:-build/surge}
GEN_CPU=${GEN_CPU:-0}
case $MODE in keepalive | handshake) ;; *) echo "MODE=$MODE: keepalive or handshake" >&2; exit 2 ;; esac
case $TLS in 1.2 | 1.3) ;; *) echo "TLS=$TLS: 1.2 or 1.3" >&2; exit 2 ;; esac
. bench/nginx-fixture.sh
ulimit -n "$(ulimit -Hn)"
out=$(mktemp -d /tmp/surge-tls-bench.XXXXXX)
trap 'nginx_stop; rm -rf "$out"' EXIT
NGINX_PROTO=https
NGINX_TLS_PROTOCOLS="TLSv$TLS"
if [ "$MODE" = handshake ]; then
	NGINX_HTTP_EXTRA="log_format reuse '\$connection \$ssl_session_reused';"
	NGINX_SERVER_EXTRA="access_log $out/reuse.log reuse;"
fi
nginx_start
URL=$NGINX_URL
echo "# host: $(uptime)"
echo "# $(openssl version), nginx $(nginx -v 2>&1 | sed 's/.*\///'), TLS $TLS, certificate ${NGINX_CERT:-rsa}"

json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d" + sys.argv[2]))' "$@"; }

# run NAME COMMAND...: prints "NAME count cpu_s" (count: requests, or handshakes in MODE=handshake).
run() {
	local name=$1 count
	shift
	: >"$out/reuse.log" 2>/dev/null || true
	/usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$GEN_CPU" "$@" >"$out/stdout" 2>"$out/stderr" || true
	case $name in
	surge* | base*)
		if [ "$MODE" = handshake ]; then
			count=$(json_field "$out/result.json" '["tls"]["handshakes"]')
		else
			count=$(json_field "$out/result.json" '["totals"]["responses"]')
		fi
		;;
	wrk) count=$(awk '/requests in/ {print $1}' "$out/stdout") ;;
	h2load) count=$(awk '/^requests:/ {print $8}' "$out/stdout") ;; # succeeded
	s_time*) count=$(awk '/connections in .* real seconds/ {print $1; exit}' "$out/stdout") ;;
	esac
	read -r user sys < <(tail -n 1 "$out/time")
	local resumed="-"
	# nginx writes its log lines as it goes: the last ones are in by the time the tool exits
	[ "$MODE" = handshake ] && resumed=$(sort -u "$out/reuse.log" | awk '$2 == "r" {r++} END {print r + 0 "/" NR}')
	echo "$name ${count:-0} $(echo "$user + $sys" | bc -l) $resumed"
}

if [ "$MODE" = keepalive ]; then
	peers=(surge wrk h2load)
	unit=req
else
	peers=(surge surge-full s_time-new s_time-reuse h2load)
	unit=hs
fi
# the base is an older surge, without --new-conn-every perhaps: in the keep-alive mode only
[ -n "${SURGE_BASE:-}" ] && [ "$MODE" = keepalive ] && peers=(surge base "${peers[@]:1}")
if [ -n "${PEERS:-}" ]; then read -ra peers <<<"$PEERS"; fi
s_time_args=(-connect "127.0.0.1:$NGINX_PORT" -time "$DURATION" -www / -tls${TLS/./_})
# h2load: one request per connection, as many connections as one second of surge's handshakes
H2LOAD_N=${H2LOAD_N:-2000}

results=$out/results
: >"$results"
echo "# generator ${unit} cpu_s ${unit}/cpu_s [nginx: resumed/handshakes]   (nginx on CPU 1, generators on CPU $GEN_CPU, 1 thread, $CONNS connections, ${DURATION}s)"
for round in $(seq "$ROUNDS"); do
	order=("${peers[@]}")
	[ "${order[0]}" = surge ] && [ "${order[1]:-}" = base ] && [ $((round % 2)) = 0 ] &&
		order=(base surge "${order[@]:2}")
	for p in "${order[@]}"; do
		ka=(run -q -k -t 1 -c "$CONNS" -d "${DURATION}s" --json "$out/result.json")
		hs=("${ka[@]}" --new-conn-every 1)
		case $p in
		surge) if [ "$MODE" = keepalive ]; then line=$(run surge "$SURGE" "${ka[@]}" "$URL"); else line=$(run surge "$SURGE" "${hs[@]}" "$URL"); fi ;;
		base) if [ "$MODE" = keepalive ]; then line=$(run base "$SURGE_BASE" "${ka[@]}" "$URL"); else line=$(run base "$SURGE_BASE" "${hs[@]}" "$URL"); fi ;;
		surge-full) line=$(run surge-full "$SURGE" "${hs[@]}" --no-tls-resume "$URL") ;;
		wrk) line=$(run wrk wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$URL") ;;
		h2load)
			if [ "$MODE" = keepalive ]; then
				line=$(run h2load h2load --h1 -t 1 -c "$CONNS" -D "$DURATION" "$URL")
			else
				line=$(run h2load h2load --h1 -t 1 -c "$H2LOAD_N" -n "$H2LOAD_N" "$URL")
			fi
			;;
		s_time-new) line=$(run s_time-new openssl s_time "${s_time_args[@]}" -new) ;;
		s_time-reuse) line=$(run s_time-reuse openssl s_time "${s_time_args[@]}" -reuse) ;;
		esac
		read -r name count cpu resumed <<<"$line"
		rate=$(echo "if ($cpu > 0) $count / $cpu else 0" | bc -l)
		printf "round %d  %-12s %9d %s  %6.2f cpu-s  %9.0f %s/cpu-s  %s\n" "$round" "$name" \
			"$count" "$unit" "$cpu" "$rate" "$unit" "$([ "$resumed" = - ] || echo "nginx resumed $resumed")"
		echo "$name $rate" >>"$results"
		echo "$name $rate" >>"$out/round$round"
	done
done

echo
echo "# median ${unit} per generator CPU-second; host: $(uptime | sed 's/.*load/load/')"
anchor=wrk
[ "$MODE" = handshake ] && anchor=s_time-new
anchor_median=$(awk -v a="$anchor" '$1==a {print $2}' "$results" | median)
anchor_median=${anchor_median:-0}
for p in "${peers[@]}"; do
	m=$(awk -v p="$p" '$1==p {print $2}' "$results" | median)
	if [ "$anchor_median" = 0 ]; then
		printf "%-12s %9.0f\n" "$p" "$m"
	else
		printf "%-12s %9.0f   ratio to %s %.2f\n" "$p" "$m" "$anchor" "$(echo "$m / $anchor_median" | bc -l)"
	fi
done

if [ -n "${SURGE_BASE:-}" ] && [ "$MODE" = keepalive ]; then
	echo
	echo "# surge / base, round by round (the same round's runs, back to back)"
	for round in $(seq "$ROUNDS"); do
		awk '$1=="surge" {s=$2} $1=="base" {b=$2} END {if (b > 0) printf "%.4f\n", s / b}' "$out/round$round"
	done | tee "$out/ratios" | tr '\n' ' '
	echo
	printf "median surge/base %.4f over %d rounds\n" "$(median <"$out/ratios")" "$ROUNDS"
fi
