"""`surge run` over HTTPS/1.1 against nginx with TLS (a self-signed certificate made by
openssl for the test): responses larger than a read event's budget, which OpenSSL's read-ahead
holds in part where no readiness of the socket announces it, counted byte for byte; and
`--new-conn-every N`, whose handshakes and resumed handshakes nginx witnesses in its access log
($ssl_session_reused), one line per request."""

import json
import os
import tempfile

from harness import Nginx, main, run_json, surge

KINDS = ("connect_refused", "connect_timeout", "connect_error", "read_timeout", "reset",
         "closed_early", "protocol_error", "tls_error", "resource_error")
MIB = 1 << 20


def check_totals(doc):
    """Every request is one response or one error of one kind."""
    t, kinds = doc["totals"], doc["errors_by_kind"]
    assert t["requests"] == t["responses"] + sum(kinds[k] for k in KINDS), (t, kinds)
    return t, kinds


def nginx_with_file(tls, size, log_format=None):
    """nginx serving a file of size bytes on /file (and 'hello, world' on /); with log_format,
    an access log of one line per request in that format (the log's path is returned)."""
    ngx = Nginx(tls=tls)
    with open(os.path.join(ngx.dir, "file.bin"), "wb") as f:
        f.write(os.urandom(size))
    log = os.path.join(ngx.dir, "access.log")
    ngx.extra = f"location = /file {{ alias {ngx.dir}/file.bin; }}"
    if log_format:
        ngx.http_extra = f"log_format witness '{log_format}';"
        ngx.extra += f" access_log {log} witness;"
    return ngx, log


def test_large_responses_over_tls_arrive_whole():
    """1 MiB answers (four times what a connection reads in one event): every byte of every
    response is counted, as over plain HTTP, with no error and none left waiting in OpenSSL's
    read-ahead (which a stall would show as read timeouts)."""
    totals = {}
    for tls in (False, True):
        ngx, _ = nginx_with_file(tls, MIB)
        with ngx:
            _, doc = run_json("-k", "-c", "3", "-t", "1", "-n", "60", "--timeout", "20s",
                              ngx.url("/file"), timeout=120)
        t, kinds = check_totals(doc)
        assert t["responses"] == 60 and t["errors"] == 0, (tls, t, kinds)
        totals[tls] = t["bytes_in"]
    assert totals[True] == totals[False] and totals[True] > 60 * MIB, totals


def test_pipelined_small_answers_over_tls():
    """--pipeline 16 over TLS: many answers' records in one read-ahead, each recorded once."""
    with Nginx(tls=True) as ngx:
        _, doc = run_json("-k", "-c", "2", "-t", "1", "-n", "5000", "--pipeline", "16",
                          ngx.url("/"))
    t, kinds = check_totals(doc)
    assert t["responses"] == 5000 and t["errors"] == 0, (t, kinds)


def witnessed(log):
    """nginx's access log of '$connection $ssl_session_reused': the connections it saw, and
    which of them resumed a session (each request logs its connection's serial)."""
    with open(log) as f:
        lines = [line.split() for line in f.read().splitlines() if line]
    conns = {c: reused for c, reused in lines}
    return len(lines), len(conns), sum(1 for r in conns.values() if r == "r")


def test_new_conn_every_resumes_as_nginx_witnesses():
    """--new-conn-every 5 over TLS 1.3 and 1.2: a connection per 5 requests, each counted by
    surge as a handshake and by nginx as a connection; every reconnect of a connection offers
    the session its server gave it, so all but the first handshake of each of the 4
    connections resume, which nginx's $ssl_session_reused confirms connection by connection.
    With --no-tls-resume not one does."""
    for proto in ("TLSv1.3", "TLSv1.2"):
        for resume in (True, False):
            ngx, log = nginx_with_file(True, 1, "$connection $ssl_session_reused")
            ngx.extra += f" ssl_protocols {proto};"
            args = ["-k", "-c", "4", "-t", "1", "-n", "400", "--new-conn-every", "5"]
            with ngx:
                _, doc = run_json(*args, *([] if resume else ["--no-tls-resume"]), ngx.url("/"))
                requests, conns, reused = witnessed(log)
            t, kinds = check_totals(doc)
            assert t["responses"] == 400 and t["errors"] == 0, (proto, t, kinds)
            tls = doc["tls"]
            assert requests == 400, (proto, requests)
            assert tls["handshakes"] == conns >= 80, (proto, resume, tls, conns)
            assert tls["resumed"] == reused, (proto, resume, tls, reused)
            assert tls["resumption"] is resume, tls
            if resume:
                assert tls["resumed"] == tls["handshakes"] - 4, (proto, tls)
            else:
                assert tls["resumed"] == 0, (proto, tls)
            assert tls["handshake_ms"]["p50"] > 0 and tls["histogram"], tls
            assert doc["config"]["new_conn_every"] == 5, doc["config"]


def test_keep_alive_https_counts_one_handshake_per_connection():
    """Without the option a connection lives on: 3 connections, 3 full handshakes."""
    ngx, log = nginx_with_file(True, 1, "$connection $ssl_session_reused")
    with ngx:
        _, doc = run_json("-k", "-c", "3", "-t", "1", "-n", "300", ngx.url("/"))
        seen = witnessed(log)
    assert doc["tls"]["handshakes"] == 3 and doc["tls"]["resumed"] == 0, doc["tls"]
    assert seen == (300, 3, 0), seen
    assert "new_conn_every" not in doc["config"], doc["config"]


def test_new_conn_every_over_plain_http():
    """Over http the option counts connections alone: 300 requests by 3 = 100 connections
    (nginx's serials), and the document has no tls section."""
    ngx, log = nginx_with_file(False, 1, "$connection .")
    with ngx:
        _, doc = run_json("-c", "1", "-t", "1", "-n", "300", "--new-conn-every", "3",
                          ngx.url("/"))
        seen = witnessed(log)
    assert doc["totals"]["responses"] == 300, doc["totals"]
    assert seen[:2] == (300, 100), seen
    assert "tls" not in doc, doc.get("tls")


def test_merge_and_report_carry_the_handshakes():
    """surge merge adds two runs' handshakes (histograms bucket by bucket); surge report
    prints the handshakes of a document read back."""
    d = tempfile.mkdtemp(prefix="surge-tls-merge-")
    paths = [os.path.join(d, f"{i}.json") for i in range(2)]
    with Nginx(tls=True) as ngx:
        for p, n in zip(paths, (40, 60)):
            r = surge("run", "-q", "-k", "-c", "2", "-t", "1", "-n", str(n),
                      "--new-conn-every", "10", "--json", p, ngx.url("/"))
            assert r.returncode == 0, r.stderr
    docs = []
    for p in paths:
        with open(p) as f:
            docs.append(json.load(f))
    out = os.path.join(d, "merged.json")
    p = surge("merge", *paths, "--json", out)
    assert p.returncode == 0, p.stderr
    with open(out) as f:
        merged = json.load(f)
    assert merged["tls"]["handshakes"] == sum(x["tls"]["handshakes"] for x in docs) >= 10
    assert merged["tls"]["resumed"] == sum(x["tls"]["resumed"] for x in docs)
    p = surge("report", paths[0])
    want = f"| TLS handshakes | {docs[0]['tls']['handshakes']} ({docs[0]['tls']['resumed']} resumed)"
    assert p.returncode == 0 and want in p.stdout, (p.returncode, p.stdout, p.stderr)


def test_compare_says_when_connections_were_renewed_differently():
    """A run with a handshake every 10 requests against a keep-alive one measured another
    load: compare says so (config.new_conn_every '10' vs 'keep-alive'); two alike do not."""
    d = tempfile.mkdtemp(prefix="surge-tls-compare-")
    paths = {k: os.path.join(d, f"{k}.json") for k in ("every10", "every10b", "keepalive")}
    with Nginx(tls=True) as ngx:
        for name, extra in (("every10", ["--new-conn-every", "10"]),
                            ("every10b", ["--new-conn-every", "10"]), ("keepalive", [])):
            r = surge("run", "-q", "-k", "-c", "2", "-t", "1", "-n", "40", *extra, "--json",
                      paths[name], ngx.url("/"))
            assert r.returncode == 0, r.stderr
    p = surge("compare", paths["every10"], paths["keepalive"])
    assert "config.new_conn_every '10' vs 'keep-alive'" in p.stderr, p.stderr
    p = surge("compare", paths["every10"], paths["every10b"])
    assert "new_conn_every" not in p.stderr, p.stderr


def test_bad_values_exit_2():
    """Each is refused before the run with a line naming the option."""
    url = "https://127.0.0.1:1/"
    for args, needle in ((["--new-conn-every", "0"], "--new-conn-every"),
                         (["--new-conn-every", "abc"], "--new-conn-every"),
                         (["--new-conn-every", "4294967296"], "--new-conn-every"),
                         (["--new-conn-every", "2", "--pipeline", "4"], "--new-conn-every"),
                         (["--new-conn-every", "2", "--h2"], "--new-conn-every")):
        p = surge("run", "-n", "1", *args, url, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        first = p.stderr.splitlines()[0]
        assert first.startswith("surge run: ") and needle in first, (args, p.stderr)


if __name__ == "__main__":
    main([test_large_responses_over_tls_arrive_whole, test_pipelined_small_answers_over_tls,
          test_new_conn_every_resumes_as_nginx_witnesses,
          test_keep_alive_https_counts_one_handshake_per_connection,
          test_new_conn_every_over_plain_http, test_merge_and_report_carry_the_handshakes,
          test_compare_says_when_connections_were_renewed_differently, test_bad_values_exit_2])
