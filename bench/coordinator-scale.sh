#!/usr/bin/env bash
# How far one coordinator of a distributed run scales (issue 18 §7): a real `surge run
# --coordinator` pinned to CPU 0 absorbs 10, 50 and 200 simulated shards (bench/shard_sim.py:
# one process pinned to CPU 1, each shard on its own connection speaking a real shard's wire —
# the join, a second of 20 endpoints at 1,000 requests a second POSTed once a second, the end)
# and Locust's master, pinned the same way, absorbs 10 and 50 real Locust workers counting the
# same load (bench/locust_fleet.py), reporting every 3 s (Locust's own) and every 1 s. Over a
# 20 s steady window of each run: the coordinator's or master's CPU (every thread's time on a
# CPU, schedstat), its RSS, and the bytes its connections carried (the kernel's count, ss -ti);
# each coordinator's document must say every shard ran to its end with exactly the requests
# sent.
# Rounds alternate the two; medians are printed as docs/performance.md shows them.
# Usage: bench/coordinator-scale.sh [--rounds 3] [--shards 10,50,200] [--locust-workers 10,50]
#        [--rps 1000] [--json FILE]   (all options: python3 bench/coordinator_scale.py --help)
set -euo pipefail
cd "$(dirname "$0")/.."
SURGE=${SURGE:-build/surge}
ulimit -n "$(ulimit -Hn)" # a connection per shard
exec python3 bench/coordinator_scale.py --surge "$SURGE" "$@"
