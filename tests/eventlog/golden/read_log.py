#!/usr/bin/python3
"""A keel event log reader written from docs/eventlog-format.md alone (no keel code).

    read_log.py <log dir> [expected.txt]

Prints one line per record and a final "end" line, in the same text as
tests/eventlog/golden_test.cpp's dump. With expected.txt, compares and exits 1 on any difference.
Needs python3-xxhash (Debian) for XXH3-64.
"""
import os
import struct
import sys

import xxhash

HEADER = 4096
FRAME = 80
MIN_FRAME = 16


def xxh3(data, seed=0):
    return xxhash.xxh3_64_intdigest(bytes(data), seed=seed)


def align8(n):
    return (n + 7) & ~7


class Corrupt(Exception):
    pass


def read_meta(d):
    with open(os.path.join(d, "LOG.meta"), "rb") as f:
        m = f.read()
    if len(m) < 48:
        raise Corrupt("LOG.meta: truncated")
    if m[0:8] != b"KEELLOG\0":
        raise Corrupt("LOG.meta: not a keel log")
    (version,) = struct.unpack_from("<H", m, 8)
    if version != 1:
        raise Corrupt("LOG.meta: version %d" % version)
    (check,) = struct.unpack_from("<Q", m, 40)
    if xxh3(m[0:40]) != check:
        raise Corrupt("LOG.meta: checksum mismatch")
    return m[16:32]


def read_segment_header(path, log_id):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER or data[0:8] != b"KEELSEG\0":
        raise Corrupt(path + ": not a keel log segment")
    version, header_size, flags = struct.unpack_from("<HHI", data, 8)
    if version != 1:
        raise Corrupt(path + ": version %d" % version)
    if not flags & 1:
        return None, data  # a spare, never used
    (header_xxh3,) = struct.unpack_from("<Q", data, 144)
    if xxh3(data[0:144]) != header_xxh3:
        raise Corrupt(path + ": header checksum mismatch")
    if data[16:32] != log_id:
        raise Corrupt(path + ": another log's segment")
    seg_no, base_seq, stream_id, _, salt, prev_salt, capacity, max_record, align = struct.unpack_from(
        "<QQIIQQQII", data, 32)
    if header_size != HEADER or align != 8 or capacity < HEADER:
        raise Corrupt(path + ": sizes out of range")
    return dict(no=seg_no, base_seq=base_seq, salt=salt, prev_salt=prev_salt,
                capacity=capacity), data


def frames(h, data):
    """Yields (offset, fields, payload) for each record; returns the stop reason."""
    salt = h["salt"]
    size = min(h["capacity"], len(data))
    off = HEADER
    while off + MIN_FRAME <= size:
        (length,) = struct.unpack_from("<i", data, off)
        if length == 0:
            return "ok"
        if length < 0:
            return "in_flight"
        if length < MIN_FRAME or off + length > size:
            return "bad_length"
        (word0,) = struct.unpack_from("<Q", data, off)
        (check,) = struct.unpack_from("<Q", data, off + 8)
        if xxh3(data[off + 16:off + length], salt ^ word0) != check:
            return "checksum"
        (rtype, flags) = struct.unpack_from("<HH", data, off + 4)
        if rtype == 1:  # padding
            off += align8(length)
            continue
        if length < FRAME:
            return "bad_length"
        if not (rtype & 0x8000 or 1 <= rtype <= 16):
            return "unknown_type"
        fields = struct.unpack_from("<QqQQQQQQ", data, off + 16)
        yield off, (rtype, flags) + fields, data[off + FRAME:off + length]
        off += align8(length)
    return "ok"


def dump(d):
    log_id = read_meta(d)
    seg_dir = os.path.join(d, "seg")
    names = sorted(n for n in os.listdir(seg_dir) if n.endswith(".evl") and len(n) == 24)
    headers = []
    for n in names:
        h, data = read_segment_header(os.path.join(seg_dir, n), log_id)
        headers.append((n, h, data))
    while headers and headers[-1][1] is None:  # spares after the newest active segment
        headers.pop()
    lines = []
    count = 0
    segments = 0
    prev = None
    last_seq = 0
    for n, h, data in headers:
        if h is None:
            raise Corrupt(n + ": a spare before an active segment")
        if prev is not None and (h["no"] != prev["no"] + 1 or h["prev_salt"] != prev["salt"]
                                 or h["base_seq"] <= last_seq):
            raise Corrupt(n + ": does not follow the segment before it")
        gen = frames(h, data)
        while True:
            try:
                off, f, payload = next(gen)
            except StopIteration as stop:
                reason = stop.value
                break
            rtype, flags, seq, ts, actor, actor_seq, msg, corr, cause, ptype = f
            lines.append("seq=%d type=%d flags=%d ts=%d actor=%d actor_seq=%d msg=%d corr=%d "
                         "cause=%d ptype=%016x len=%d payload_xxh3=%016x" %
                         (seq, rtype, flags, ts, actor, actor_seq, msg, corr, cause, ptype,
                          len(payload), xxh3(payload)))
            count += 1
            last_seq = seq
        segments += 1
        if reason != "ok":
            raise Corrupt("%s: %s" % (n, reason))
        prev = h
    lines.append("end records=%d segments=%d problem=ok" % (count, segments))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        text = dump(sys.argv[1])
    except Corrupt as e:
        print("corrupt: %s" % e, file=sys.stderr)
        return 1
    if len(sys.argv) == 2:
        sys.stdout.write(text)
        return 0
    with open(sys.argv[2]) as f:
        expected = f.read()
    if text != expected:
        sys.stdout.write(text)
        print("read_log.py: the decoded log differs from %s" % sys.argv[2], file=sys.stderr)
        return 1
    print("read_log.py: %d lines match %s" % (text.count("\n"), sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
