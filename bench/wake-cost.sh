#!/usr/bin/env bash
# What one sleep and wake-up costs the sleeping process (bench/wake_cost.c), on the generator's
# core, for gaps like an open model's between arrivals: the floor under its CPU per request,
# which needs a wake-up for each send and each response to time them truthfully (surge: ~2 a
# request at low rates; wrk2's millisecond ticks: ~0.6). With IDLE_POLL=1 the kernel's CPU
# latency request is held at 0 µs meanwhile (idle cores poll instead of halting).
# Usage: bench/wake-cost.sh   [SLEEPS=3000] [GAPS="50 100 500 1000"] [GEN_CPU=0] [IDLE_POLL=0]
set -euo pipefail
cd "$(dirname "$0")/.."
SLEEPS=${SLEEPS:-3000}
GAPS=${GAPS:-50 100 500 1000}
GEN_CPU=${GEN_CPU:-0}
out=$(mktemp -d /tmp/surge-bench.XXXXXX)
qos_pid=
trap 'rm -rf "$out"; [ -z "$qos_pid" ] || kill "$qos_pid" 2>/dev/null || true' EXIT
cc -O2 -Wall -Wextra -Werror -o "$out/wake_cost" bench/wake_cost.c
if [ "${IDLE_POLL:-0}" = 1 ]; then
	python3 -c 'import os, struct, time
fd = os.open("/dev/cpu_dma_latency", os.O_WRONLY)
os.write(fd, struct.pack("i", 0))
time.sleep(1 << 30)' &
	qos_pid=$!
	sleep 0.2
	kill -0 "$qos_pid" 2>/dev/null || { echo "IDLE_POLL=1: cannot hold /dev/cpu_dma_latency (root?)" >&2; exit 2; }
fi
echo "# $SLEEPS sleeps on CPU $GEN_CPU$([ -n "$qos_pid" ] && echo ", idle cores polling"); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# gap_us cpu_us_per_sleep voluntary_switches"
for gap in $GAPS; do
	taskset -c "$GEN_CPU" "$out/wake_cost" "$SLEEPS" "$gap"
done
