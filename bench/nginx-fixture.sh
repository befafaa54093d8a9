#!/usr/bin/env bash
# Sourced by the benchmarks: nginx_start PORT_VAR starts nginx with one worker pinned to
# CPU ${SERVER_CPU:-1}, answering every path with a 13-byte body (over HTTP/2 without TLS,
# prior knowledge only, when NGINX_HTTP2=1, as NGINX_PROTO=h2c below); nginx_stop stops it.
# serve_start starts $SURGE serve the same way (one worker, SERVE_PORT, SERVE_PID, SERVE_URL;
# HTTPS with SERVE_TLS_DIR's crt.pem and key.pem) and waits until it answers; serve_stop
# stops it.
# Everything lives in a temporary prefix and listens on 127.0.0.1 only.
# NGINX_PROTO=h2c or h2 makes nginx speak HTTP/2 (h2c: prior knowledge in clear text; h2: TLS
# with ALPN and a self-signed certificate made by openssl); NGINX_URL is then its URL.
# NGINX_PROTO=https is HTTP/1.1 over TLS. With TLS: the certificate is RSA 2048, or ECDSA
# P-256 with NGINX_CERT=ec; TLS 1.2 and 1.3 (NGINX_TLS_PROTOCOLS="TLSv1.3" for one); a
# session cache and tickets, so clients can resume. NGINX_HTTP_EXTRA and NGINX_SERVER_EXTRA
# go into the http and server blocks (a log_format and an access_log, say).
# Also shared: free_port (a port on 127.0.0.1 nobody listens on now) and median [EMPTY] (of
# the numbers on standard input, one a line; EMPTY, by default nothing, when there are none).

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

median() {
	sort -n | awk -v empty="${1:-}" '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else if (empty != "") print empty}'
}

nginx_start() {
	NGINX_DIR=$(mktemp -d /tmp/surge-bench-nginx.XXXXXX)
	NGINX_PORT=$(free_port)
	local user="" listen="" tls="" scheme=http curl_opts=()
	[ "$(id -u)" = 0 ] && user="user root;"
	case ${NGINX_PROTO:-${NGINX_HTTP2:+h2c}} in
	h2c) listen=http2 curl_opts=(--http2-prior-knowledge) ;;
	h2 | https)
		local newkey=rsa:2048
		[ "${NGINX_CERT:-rsa}" = ec ] && newkey="ec -pkeyopt ec_paramgen_curve:prime256v1"
		# shellcheck disable=SC2086 # newkey is two words for ec
		openssl req -x509 -newkey $newkey -nodes -keyout "$NGINX_DIR/key.pem" \
			-out "$NGINX_DIR/crt.pem" -days 1 -subj /CN=localhost \
			-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
		listen=ssl scheme=https curl_opts=(-k)
		[ "$NGINX_PROTO" = h2 ] && listen="ssl http2"
		tls="ssl_certificate $NGINX_DIR/crt.pem; ssl_certificate_key $NGINX_DIR/key.pem;
        ssl_protocols ${NGINX_TLS_PROTOCOLS:-TLSv1.2 TLSv1.3};
        ssl_session_cache shared:S:10m; ssl_session_tickets on;"
		;;
	esac
	cat >"$NGINX_DIR/nginx.conf" <<CONF
$user
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 30000; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    ${NGINX_HTTP_EXTRA:-}
    client_body_temp_path $NGINX_DIR/b; proxy_temp_path $NGINX_DIR/p;
    fastcgi_temp_path $NGINX_DIR/f; uwsgi_temp_path $NGINX_DIR/u; scgi_temp_path $NGINX_DIR/s;
    server {
        listen 127.0.0.1:$NGINX_PORT $listen backlog=65535;
        $tls
        ${NGINX_SERVER_EXTRA:-}
        location / { return 200 "hello, world\n"; }
    }
}
CONF
	local pin=()
	[ "$(nproc)" -gt "${SERVER_CPU:-1}" ] && pin=(taskset -c "${SERVER_CPU:-1}")
	"${pin[@]}" nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" &
	NGINX_PID=$!
	NGINX_URL="$scheme://127.0.0.1:$NGINX_PORT/"
	for _ in $(seq 100); do
		curl -s "${curl_opts[@]}" -o /dev/null "$NGINX_URL" && return 0
		sleep 0.1
	done
	echo "nginx did not start" >&2
	return 1
}

nginx_stop() {
	[ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	[ -n "${NGINX_DIR:-}" ] && rm -rf "$NGINX_DIR"
	NGINX_PID=
}

serve_start() {
	SERVE_PORT=$(free_port)
	# SERVE_TLS_DIR: serve HTTPS with that directory's crt.pem and key.pem (nginx's)
	local tls=() scheme=http
	[ -n "${SERVE_TLS_DIR:-}" ] && tls=(--tls-cert "$SERVE_TLS_DIR/crt.pem"
		--tls-key "$SERVE_TLS_DIR/key.pem") && scheme=https
	taskset -c "${SERVER_CPU:-1}" "$SURGE" serve --listen "127.0.0.1:$SERVE_PORT" --workers 1 \
		--access-log off "${tls[@]}" >/dev/null &
	SERVE_PID=$!
	SERVE_URL="$scheme://127.0.0.1:$SERVE_PORT"
	for _ in $(seq 100); do
		curl -s -k -o /dev/null "$SERVE_URL/health" && break
		sleep 0.1
	done
}

serve_stop() {
	[ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}
