#!/usr/bin/env bash
# `make demo`: starts `surge serve` on loopback, runs a short load test against it, prints the
# summary and writes the result document (build/demo/result.json), the HTML report
# (build/demo/report.html) and Locust-style CSVs (build/demo/stats_*.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p build/demo
build/surge serve --listen "127.0.0.1:$PORT" --workers 1 --access-log off >build/demo/serve.log 2>&1 &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break
	sleep 0.1
done
# JSON work plus a lognormal wait (median 2 ms, p99 20 ms), as a typical API call
URL="http://127.0.0.1:$PORT/api/json-processing?size=20&delay=lognormal(2ms,20ms)"
echo "target: surge serve on 127.0.0.1:$PORT (one worker); URL: $URL"
build/surge run -c 20 -d 5s --json build/demo/result.json --html build/demo/report.html \
	--csv build/demo/stats "$URL"
echo
echo "HTML report:     $PWD/build/demo/report.html"
echo "result document: build/demo/result.json   CSV: build/demo/stats_*.csv   target log: build/demo/serve.log"
