"""A distributed run's binary wire written from Python, byte for byte what a shard sends (for the
tests and bench/shard_sim.py that speak to a coordinator without `surge run --join`):

  - a second (src/result/delta_wire.c): every number an unsigned LEB128 varint unless it is an
    f64 (8 bytes, little-endian), every string a varint length and its bytes; histogram buckets
    as one varint each — the index's distance from the last one's + 1, shifted left by one, the
    low bit set when the count is above 1 — then count - 2 when it is;
  - a batch (src/dist/dist_batch.c): "SRGD", the wire version, the shard's 32-hex id, seq, the
    number of seconds, each as a varint length and its bytes, then the final figures' JSON
    (its length first; 0: none).

The seconds are given as dicts shaped as the JSON seconds of wire 2 were (docs/distributed.md
"On the wire" has the fields): counters {"requests", ..., "status": [[code, n]], "kinds": [..]},
histograms {"n", "min", "max", "sum", "sum_sq", "clamped", "b": [[index, count], ...]}."""

import json
import struct

WIRE = 3  # src/dist/dist.h DIST_WIRE_VERSION
SECOND_VERSION = 2  # src/result/delta_wire.h DELTA_WIRE_VERSION
ERR_KINDS = 9  # GEN_ERR_KIND_COUNT
MAGIC = b"SRGD"
TALLY_KINDS = ("check", "counter", "trend", "script_error")
COUNTER_KEYS = ("requests", "errors", "bytes_in", "bytes_out", "late", "dropped", "unfinished",
                "checks_failed", "script_errors")


def uvarint(v):
    v = int(v)
    if v < 0:
        raise ValueError(f"a varint of {v}")
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def f64(v):
    return struct.pack("<d", float(v))


def string(s):
    b = s.encode()
    return uvarint(len(b)) + b


def hist(h):
    """H: n, [min, max - min], sum, sum_sq, clamped, the buckets."""
    out = [uvarint(h["n"])]
    if h["n"]:
        out += [uvarint(h["min"]), uvarint(h["max"] - h["min"])]
    out += [f64(h["sum"]), f64(h["sum_sq"]), uvarint(h.get("clamped", 0)), uvarint(len(h["b"]))]
    following = 0  # the lowest index the next bucket can have
    for index, count in h["b"]:
        gap = index - following
        out.append(uvarint(gap << 1 | (count > 1)))
        if count > 1:
            out.append(uvarint(count - 2))
        following = index + 1
    return b"".join(out)


def counters(c):
    out = [uvarint(c.get(k, 0)) for k in COUNTER_KEYS]
    status = sorted((code, n) for code, n in c.get("status", []) if n)
    out.append(uvarint(len(status)))
    following = 0
    for code, n in status:
        out += [uvarint(code - following), uvarint(n)]
        following = code + 1
    kinds = c.get("kinds", [0] * ERR_KINDS)
    out.append(uvarint(len(kinds)))
    out += [uvarint(n) for n in kinds]
    return b"".join(out)


def second(d, number=None):
    """One second's bytes; number overrides d["second"]."""
    out = [uvarint(SECOND_VERSION), uvarint(d["second"] if number is None else number),
           f64(d.get("length_s", 1)), uvarint(d.get("users", 0)), f64(d.get("target", 0)),
           f64(d.get("busiest_cpu", 0)), uvarint(d.get("due", 0)), uvarint(d.get("due_late", 0)),
           counters(d["counters"]), hist(d["latency"]), hist(d["service"]),
           hist(d["sched_lag"])]
    eps = d.get("endpoints", [])
    out.append(uvarint(len(eps)))
    for e in eps:
        out += [string(e["method"]), string(e["name"]), counters(e["counters"]),
                hist(e["latency"])]
    tallies = d.get("tallies", [])
    out.append(uvarint(len(tallies)))
    for t in tallies:
        out += [uvarint(TALLY_KINDS.index(t["kind"])), string(t["name"]),
                uvarint(t.get("passes", 0)), uvarint(t.get("fails", 0)), f64(t.get("value", 0)),
                hist(t["hist"])]
    return b"".join(out)


def second_parts(d):
    """(before, after): the bytes before and after the second's number, for writing many
    seconds of the same figures cheaply (bench/shard_sim.py)."""
    whole = second(d, 0)
    head = uvarint(SECOND_VERSION)
    return head, whole[len(head) + 1:]  # second 0 takes one byte


def batch(shard_id, seq, seconds, final=None):
    """A batch's body: seconds are bytes (second()); final a dict or None."""
    if len(shard_id) != 32:
        raise ValueError("an id is 32 hex digits")
    out = [MAGIC, uvarint(WIRE), shard_id.encode(), uvarint(seq), uvarint(len(seconds))]
    for s in seconds:
        out += [uvarint(len(s)), s]
    fin = json.dumps(final, separators=(",", ":")).encode() if final is not None else b""
    out += [uvarint(len(fin)), fin]
    return b"".join(out)
