#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into <out>/<target>/.

Seeds come from the captured protocol bytes in tests/testdata (pgoutput messages, MariaDB
binlogs) and from the hand-written samples below (binary COPY values, binary JSON, Kafka
envelopes, configs, value text). tests/fuzz/corpus/ is these seeds plus what fuzzing found,
minimised with libFuzzer's -merge=1 (see README.md); rerun this after changing a format.

Usage: tests/fuzz/make_seeds.py <out-dir>
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "testdata")


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pgoutput(out):
    with open(os.path.join(TESTDATA, "pgoutput", "basic.hex")) as f:
        for i, line in enumerate(f):
            if "\t" not in line:
                continue
            lsn_text, hexbytes = line.rstrip("\n").split("\t", 1)
            msg = bytes.fromhex(hexbytes)
            write(out, "fuzz_pgoutput", "msg-%02d" % i, msg)
            hi, lo = lsn_text.split("/")
            lsn = (int(hi, 16) << 32) | int(lo, 16)
            # The same message inside an XLogData frame: 'w', wal_start, wal_end, send time.
            write(out, "fuzz_pgoutput", "xlog-%02d" % i,
                  b"w" + struct.pack(">QQq", lsn, lsn + len(msg), 757382400000000) + msg)
    write(out, "fuzz_pgoutput", "keepalive", b"k" + struct.pack(">Qq", 0x16B374D848, 1) + b"\x01")


def pg_binary(out):
    kinds = ["raw", "bytea", "jsonb", "bool", "int2", "int4", "int8", "oid", "float4", "float8",
             "numeric", "date", "time", "timestamp", "timestamptz", "uuid"]
    k = {name: bytes([i]) for i, name in enumerate(kinds)}
    samples = {
        "raw": [b"hello", "h\u00e9llo \U0001F600".encode()],
        "bytea": [b"\x00\x01\xff"],
        "jsonb": [b"\x01{\"a\": [1, 2]}"],
        "bool": [b"\x01", b"\x00"],
        "int2": [struct.pack(">h", -32768)],
        "int4": [struct.pack(">i", -2147483648)],
        "int8": [struct.pack(">q", -(1 << 63)), struct.pack(">q", (1 << 63) - 1)],
        "oid": [struct.pack(">I", 4294967295)],
        "float4": [struct.pack(">f", 3.4028234663852886e38), struct.pack(">f", float("nan"))],
        "float8": [struct.pack(">d", -0.0), struct.pack(">d", 1e-310), struct.pack(">d", float("inf"))],
        # numeric: ndigits, weight, sign, dscale, base-10000 digits.
        "numeric": [struct.pack(">hhHh", 2, 0, 0, 4, ) + struct.pack(">hh", 12, 3400),
                    struct.pack(">hhHh", 0, 0, 0xC000, 0),                  # NaN
                    struct.pack(">hhHh", 1, 32767, 0x4000, 16383) + struct.pack(">h", 9999)],
        # date: days since 2000-01-01; timestamp(tz): microseconds since then.
        "date": [struct.pack(">i", 0), struct.pack(">i", 2147483494), struct.pack(">i", -2451545),
                 struct.pack(">i", 2147483647), struct.pack(">i", -2147483648)],
        "time": [struct.pack(">q", 86399999999), struct.pack(">q", 86400000000)],
        "timestamp": [struct.pack(">q", 9223371331199999999),          # 294276-12-31 23:59:59.999999
                      struct.pack(">q", -211813488000000000),          # 4713-11-24 BC
                      struct.pack(">q", (1 << 63) - 1), struct.pack(">q", 0)],
        "timestamptz": [struct.pack(">q", 9223371331199999999), struct.pack(">q", -(1 << 63))],
        "uuid": [bytes(range(16))],
    }
    for name, values in samples.items():
        for i, v in enumerate(values):
            write(out, "fuzz_pg_binary", "%s-%d" % (name, i), k[name] + v)
    write(out, "fuzz_pg_binary", "copy-header", b"\x00PGCOPY\n\xff\r\n\x00" + bytes(8))


def binlog_events(path):
    data = open(path, "rb").read()
    assert data[:4] == b"\xfebin"
    pos, events = 4, []
    while pos + 19 <= len(data):
        size = struct.unpack_from("<I", data, pos + 9)[0]
        if size < 19 or pos + size > len(data):
            break
        events.append(data[pos:pos + size])
        pos += size
    return events


def strip_checksum(ev):
    body = ev[:-4]
    return body[:9] + struct.pack("<I", len(body)) + body[13:]


def binlog(out):
    n = 0
    for name in ("types.binlog", "charsets.binlog"):
        events = binlog_events(os.path.join(TESTDATA, "binlog", name))
        last_map = None
        for ev in events:
            t = ev[4]
            plain = strip_checksum(ev)
            if t == 19:
                last_map = plain
            elif t in (23, 24, 25, 30, 31, 32) and last_map is not None:
                write(out, "fuzz_binlog", "rows-%03d" % n, b"\x00" + last_map + plain)
                n += 1
            elif t in (2, 4, 16, 162):
                write(out, "fuzz_binlog", "event-%03d" % n, b"\x00" + plain)
                n += 1
        # One with checksums kept and verified (mode 1).
        write(out, "fuzz_binlog", "crc-" + name, b"\x01" + b"".join(events[:6]))
    # Binary JSON (mode 0x80): MySQL's json_binary format.
    def small_obj(pairs):
        # count, size, key entries (offset, len), value entries (type, inlined value/offset), keys, values
        count = len(pairs)
        header = 4 + count * 4 + count * 3
        keys = b"".join(k for k, _ in pairs)
        key_entries, off = b"", header
        for k, _ in pairs:
            key_entries += struct.pack("<HH", off, len(k))
            off += len(k)
        value_entries, values = b"", b""
        for _, (t, v) in pairs:
            if t in (4, 5, 6):
                value_entries += bytes([t]) + v.ljust(2, b"\x00")
            else:
                value_entries += bytes([t]) + struct.pack("<H", off + len(values))
                values += v
        body = key_entries + value_entries + keys + values
        return struct.pack("<HH", count, 4 + len(body)) + body
    docs = {
        "json-literal": b"\x04\x01",
        "json-int64-min": b"\x09" + struct.pack("<q", -(1 << 63)),
        "json-double": b"\x0b" + struct.pack("<d", 1.5),
        "json-string": b"\x0c\x05hello",
        "json-object": b"\x00" + small_obj([(b"a", (5, struct.pack("<h", -2))),
                                             (b"b", (12, b"\x02hi")), (b"c", (4, b"\x02"))]),
        # Opaque DATETIME (type 12), packed value with the sign bit set, and DECIMAL (246).
        "json-opaque-datetime": b"\x0f\x0c\x08" + struct.pack("<q", -(1 << 63)),
        "json-opaque-decimal": b"\x0f\xf6\x05\x05\x02\x80\x00\x7b",
    }
    for name, doc in docs.items():
        write(out, "fuzz_binlog", name, b"\x80" + doc)


def kafka(out):
    def field(name, typ, semantic=None, params=None, optional=True):
        f = {"type": typ, "optional": optional, "field": name}
        if semantic:
            f["name"] = semantic
        if params:
            f["parameters"] = params
        return f
    fields = [
        field("id", "int32", optional=False),
        field("price", "bytes", "org.apache.kafka.connect.data.Decimal", {"scale": "2"}),
        field("ratio", "struct", "io.debezium.data.VariableScaleDecimal"),
        field("created", "int64", "io.debezium.time.MicroTimestamp"),
        field("created_ms", "int64", "io.debezium.time.Timestamp"),
        field("created_ns", "int64", "io.debezium.time.NanoTimestamp"),
        field("seen", "string", "io.debezium.time.ZonedTimestamp"),
        field("day", "int32", "io.debezium.time.Date"),
        field("at", "int64", "io.debezium.time.MicroTime"),
        field("at_ms", "int32", "io.debezium.time.Time"),
        field("span", "int64", "io.debezium.time.MicroDuration"),
        field("mood", "string", "io.debezium.data.Enum", {"allowed": "sad,ok,happy"}),
        field("doc", "string", "io.debezium.data.Json"),
        field("amount", "string", params={"__debezium.source.column.type": "NUMERIC",
                                          "__debezium.source.column.length": "12",
                                          "__debezium.source.column.scale": "2"}),
        field("ok", "boolean"), field("blob", "bytes"), field("f", "double"),
        field("tags", "array"),
    ]
    schema = {"type": "struct", "name": "fuzz.public.orders.Envelope", "fields": [
        {"type": "struct", "fields": fields, "optional": True, "field": "before"},
        {"type": "struct", "fields": fields, "optional": True, "field": "after"},
        {"type": "string", "field": "op"}]}
    row = {"id": 5, "price": "BNI=", "ratio": {"scale": 3, "value": "AeJA"},
           "created": 1704164645123456, "created_ms": 1704164645123, "created_ns": 1704164645123456789,
           "seen": "2024-01-02T03:04:05.5+02:00", "day": 19724, "at": 3723000001, "at_ms": 3723000,
           "span": -1500000, "mood": "ok", "doc": "{\"a\":1}", "amount": "12.34", "ok": True,
           "blob": "AQI=", "f": 1.5, "tags": [1, 2]}
    extreme = dict(row, created=-9223372036854775808, created_ms=9223372036854775, span=-9223372036854775808,
                   seen="+294276-12-31T23:59:59.999999Z", day=2147483647, at=-1,
                   ratio={"scale": 2147483647, "value": "AQ=="})
    source = {"version": "2.5.0.Final", "connector": "postgresql", "name": "fuzz", "ts_ms": 1704164645000,
              "snapshot": "false", "db": "shop", "schema": "public", "table": "orders", "txId": 771,
              "lsn": 23456}
    key = json.dumps({"schema": {"type": "struct", "fields": [field("id", "int32", optional=False)]},
                      "payload": {"id": 5}})
    def rec(k, v):
        return (k.encode() + b"\x00" if k is not None else b"") + json.dumps(v).encode()
    typed = {"schema": schema, "payload": {"before": None, "after": row, "source": source, "op": "c",
                                           "ts_ms": 1704164645100}}
    write(out, "fuzz_kafka_envelope", "typed-create", rec(key, typed))
    write(out, "fuzz_kafka_envelope", "typed-extreme",
          rec(key, dict(typed, payload=dict(typed["payload"], after=extreme, ts_ms=1e75))))
    write(out, "fuzz_kafka_envelope", "typed-update-delete", b"\x1e".join([
        rec(key, dict(typed, payload=dict(typed["payload"], before=row, op="u"))),
        rec(key, dict(typed, payload=dict(typed["payload"], before=row, after=None, op="d"))),
        rec(key, None) if False else key.encode() + b"\x00null"]))
    plain_key = json.dumps({"id": 1})
    v1 = {"before": None, "after": {"id": 1, "name": "a", "score": 1.5, "tags": [1, 2], "meta": {"x": 1},
                                    "ok": False}, "source": {"schema": "public", "table": "t"}, "op": "c"}
    v2 = {"before": {"id": 1}, "after": {"id": 1, "name": None, "extra": "x"},
          "source": {"schema": "public", "table": "t", "snapshot": "last"}, "op": "r"}
    trunc = {"before": None, "after": None, "source": {"schema": "public", "table": "t"}, "op": "t"}
    write(out, "fuzz_kafka_envelope", "schemaless", b"\x1e".join(
        [rec(plain_key, v1), rec(plain_key, v2), rec(None, trunc)]))
    mysql = {"before": None, "after": {"id": 2, "d": "2024-02-29"},
             "source": {"connector": "mysql", "db": "shop", "table": "t", "file": "bin.000001", "pos": 4,
                        "gtid": "0-1-5", "ts_ms": 1}, "op": "c"}
    write(out, "fuzz_kafka_envelope", "mysql", rec("{\"id\":2}", mysql))
    write(out, "fuzz_kafka_envelope", "not-change", b"\x1e".join([
        json.dumps({"ddl": "CREATE TABLE t (id int)", "databaseName": "shop"}).encode(),
        json.dumps({"ts_ms": 5}).encode(), b"{not json", b"[1,2]"]))


def config(out):
    for name in sorted(os.listdir(os.path.join(HERE, "..", "..", "compose", "connectors"))):
        with open(os.path.join(HERE, "..", "..", "compose", "connectors", name), "rb") as f:
            write(out, "fuzz_config", "compose-" + name, f.read())
    flat = {"name": "orders-eu", "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "localhost", "database.password": "secret", "sink.type": "postgres",
            "sink.url": "postgresql://app:pw@db/target?password=x&sslmode=require",
            "table.include.list": "public\\.(orders|items),shop\\..*", "table.exclude.list": "public\\.tmp_.*",
            "column.exclude.list": "public\\.orders\\.secret", "snapshot.mode": "when_needed",
            "sink.batch.size": 500, "max.queue.size": "100", "errors.retry.timeout": -1,
            "sink.kafka.bootstrap.servers": "k:9092", "tombstones.on.delete": True}
    write(out, "fuzz_config", "flat", json.dumps(flat))
    write(out, "fuzz_config", "wrapped", json.dumps({"name": "x", "config": flat}))
    write(out, "fuzz_config", "bad-values", json.dumps({"connector.class": "mysql", "sink.type": "tape",
                                                         "sink.batch.size": "0x10", "max.batch.size": "99999999999999999999",
                                                         "table.include.list": "(", "nested": {"a": 1}}))


def value_text(out):
    samples = [
        "2024-02-29", "1969-12-31", "0001-01-01 BC", "4713-11-24 BC", "5874897-12-31", "infinity", "-infinity",
        "2024-02-30", "12345-01-01", "+294276-12-31", "-0043-03-15",
        "00:00:01.5", "23:59:59.999999", "24:00:00", "-838:59:59.999999", "838:59:59", "-00:00:00.000001",
        "1970-01-01 00:00:00", "1969-12-31 23:59:59.999999", "2023-11-14 22:13:20.123456+00",
        "2023-11-14 23:13:20.5+01", "1970-01-01 00:00:00-05:30", "1900-01-01 00:00:00+05:53:28",
        "0044-03-15 12:00:00+00 BC", "4713-11-24 00:00:00 BC", "294276-12-31 23:59:59.999999",
        "294276-12-31 23:59:59.999999+00", "294247-01-10 04:00:54.775807", "294247-01-10 04:00:54.775808",
        "290309-12-22 19:59:05.224192 BC", "2024-01-02T03:04:05.5Z", "+294276-12-31T23:59:59.999999Z",
        "-12.5e+3", "0", "NaN", "Zm9vYmFy", "h\u00e9llo \U0001F600", "bad\xff",
    ]
    for i, s in enumerate(samples):
        write(out, "fuzz_value_text", "text-%02d" % i, s.encode("utf-8", "surrogateescape"))
    for v in (-(1 << 63), (1 << 63) - 1, 9223372036825200000, -1, 0, 2147483647, 36524000000):
        write(out, "fuzz_value_text", "int-%d" % v, struct.pack("<q", v))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for f in (pgoutput, pg_binary, binlog, kafka, config, value_text):
        f(out)


if __name__ == "__main__":
    main()
