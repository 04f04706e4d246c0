// Regression tests for findings of fuzzing the Kafka source's decoder (issue 22, "Found by
// fuzzing the decoders"): every size taken from a record is bounded, and no integer read from a
// record overflows or is silently wrapped; each was UB or a silent wrong value before.
#include "connectors/kafka/kafka_types.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "connectors/kafka/envelope_decoder.h"

namespace sluice::kafka {
namespace {

using json = nlohmann::ordered_json;

ColumnCodec Codec(const char* semantic, const char* type = "int64") {
  return CodecFromFieldSchema(json{{"field", "c"}, {"type", type}, {"name", semantic}});
}

// The canonical text of `value` for `codec`, or the error message prefixed with "error: ".
std::string Canonical(const ColumnCodec& codec, const std::string& value_json) {
  core::EventBatch batch;
  uint32_t row = batch.BeginRow();
  core::Status s = AppendCanonical(batch, codec, json::parse(value_json));
  if (!s.ok()) {
    batch.AbandonRow();
    return "error: " + s.message();
  }
  batch.EndRow();
  return std::string(batch.row(row).text(0));
}

TEST(KafkaTypesFuzzFindings, VariableScaleDecimalScaleIsBounded) {
  // One 381-byte record made DecimalFromBytes build a 2 GB string (7 GB of memory in all).
  ColumnCodec vsd = Codec("io.debezium.data.VariableScaleDecimal", "struct");
  std::string r = Canonical(vsd, R"({"scale":2147483647,"value":"AQ=="})");
  EXPECT_EQ(r.rfind("error: column c: ", 0), 0u) << r.substr(0, 200);
  EXPECT_NE(r.find("scale 2147483647"), std::string::npos) << r.substr(0, 200);
  // INT_MIN: -scale overflowed.
  EXPECT_EQ(Canonical(vsd, R"({"scale":-2147483648,"value":"AQ=="})").rfind("error: ", 0), 0u);
  // 2^32 + 2 was read as int32 scale 2: silently "0.01".
  EXPECT_EQ(Canonical(vsd, R"({"scale":4294967298,"value":"AQ=="})").rfind("error: ", 0), 0u);
  EXPECT_EQ(Canonical(vsd, R"({"scale":16383,"value":"AQ=="})").size(), 16385u);  // "0.000…1"
  EXPECT_EQ(Canonical(vsd, R"({"scale":-3,"value":"Bw=="})"), "7000");
  // A Connect Decimal's scale from the schema parameters.
  ColumnCodec dec = CodecFromFieldSchema(json{{"field", "c"}, {"type", "bytes"},
      {"name", "org.apache.kafka.connect.data.Decimal"}, {"parameters", {{"scale", "2147483647"}}}});
  EXPECT_EQ(Canonical(dec, R"("AQ==")").rfind("error: ", 0), 0u);
}

TEST(KafkaTypesFuzzFindings, DecimalFromBytesIsExactAndBounded) {
  EXPECT_EQ(DecimalFromBytes(std::string("\x3B\x9A\xCA\x00", 4), 0), "1000000000");  // 10^9: a whole chunk
  EXPECT_EQ(DecimalFromBytes(std::string("\x01", 1) + std::string(16, '\0'), 0),
            "340282366920938463463374607431768211456");  // 2^128
  EXPECT_EQ(DecimalFromBytes(std::string("\xFF", 1) + std::string(16, '\0'), 2),
            "-3402823669209384634633746074317682114.56");  // -2^128, scale 2
  EXPECT_EQ(DecimalFromBytes(std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8), 0), "-9223372036854775808");
  EXPECT_EQ(DecimalFromBytes(std::string(kMaxDecimalBytes + 1, '\x01'), 0), std::nullopt);
  EXPECT_EQ(DecimalFromBytes("\x01", kMaxDecimalScale + 1), std::nullopt);
  EXPECT_EQ(DecimalFromBytes("\x01", -kMaxDecimalScale - 1), std::nullopt);
  // The largest accepted magnitude still converts: PostgreSQL's widest numeric (147,455 digits) fits.
  auto big = DecimalFromBytes(std::string(1, '\x7F') + std::string(kMaxDecimalBytes - 1, '\xFF'), 0);
  ASSERT_TRUE(big.has_value());
  EXPECT_GE(big->size(), 147455u);
}

TEST(KafkaTypesFuzzFindings, TemporalIntegersNeverOverflow) {
  // MicroDuration INT64_MIN: negating it overflowed.
  EXPECT_EQ(MicrosToIsoDuration(INT64_MIN), "PT-9223372036854.775808S");
  EXPECT_EQ(Canonical(Codec("io.debezium.time.MicroDuration"), "-9223372036854775808"),
            "PT-9223372036854.775808S");
  // Timestamp (ms) * 1000 overflowed; the largest that fits converts exactly.
  ColumnCodec ms = Codec("io.debezium.time.Timestamp");
  EXPECT_EQ(Canonical(ms, "9223372036854776").rfind("error: column c: ", 0), 0u);
  EXPECT_EQ(Canonical(ms, "-9223372036854776").rfind("error: ", 0), 0u);
  EXPECT_EQ(Canonical(ms, "9223372036854775"), "294247-01-10 04:00:54.775");
  EXPECT_EQ(Canonical(Codec("io.debezium.time.Time", "int32"), "9223372036854776").rfind("error: ", 0), 0u);
  // MicroTimestamp at the int64 limits (formatting negated INT64_MIN before).
  ColumnCodec us = Codec("io.debezium.time.MicroTimestamp");
  EXPECT_EQ(Canonical(us, "-9223372036854775808"), "290309-12-21 19:59:05.224192 BC");
  // A JSON unsigned above INT64_MAX was wrapped to -1: 1969-12-31 23:59:59.999999.
  EXPECT_EQ(Canonical(us, "18446744073709551615").rfind("error: ", 0), 0u);
  EXPECT_EQ(Canonical(Codec("io.debezium.time.MicroTime"), "-9223372036854775808"), "-2562047788:00:54.775808");
  EXPECT_EQ(Canonical(Codec("io.debezium.time.Date", "int32"), "-9223372036854775808").rfind("error", 0),
            std::string::npos);
}

TEST(KafkaTypesFuzzFindings, ZonedTimestampsBeyondInt64MicrosAreExact) {
  // What the file and Kafka sinks now write for PostgreSQL's last timestamptz reads back.
  EXPECT_EQ(ZonedToCanonical("+294276-12-31T23:59:59.999999Z"), "294276-12-31 23:59:59.999999+00");
  EXPECT_EQ(ZonedToCanonical("-0043-03-15T12:00:00Z"), "0044-03-15 12:00:00+00 BC");
  EXPECT_EQ(ZonedToCanonical("2024-01-02T03:04:05.5+02:00"), "2024-01-02 01:04:05.5+00");
  EXPECT_EQ(ZonedToCanonical("2024-01-02T03:04:05"), "2024-01-02 03:04:05+00");  // no offset: UTC
  EXPECT_EQ(ZonedToCanonical("2024-01-02T03:04:05+02:00 junk"), std::nullopt);
}

KafkaRecord Record(const std::string& value) {
  KafkaRecord r;
  r.topic = "srv.public.t";
  r.offset = 3;
  r.value = value.data();
  r.value_len = value.size();
  return r;
}

TEST(KafkaTypesFuzzFindings, EnvelopeTsMsOutOfRangeIsIgnored) {
  // "ts_ms": 1e75 was converted to int64 (undefined; INT64_MIN on x86).
  std::string v = R"({"after":{"id":1},"source":{"schema":"public","table":"t","ts_ms":1e75,"lsn":-5},"op":"c","ts_ms":1e75})";
  EnvelopeDecoder d;
  core::EventBatch b;
  auto r = d.Decode(Record(v), b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.txn(b.events()[0].txn).ts_ms, 0);
  EXPECT_EQ(b.txn(b.events()[0].txn).lsn, 0u);
  std::string ok = R"({"after":{"id":1},"source":{"schema":"public","table":"t","ts_ms":1.7e12},"op":"c"})";
  core::EventBatch b2;
  ASSERT_TRUE(d.Decode(Record(ok), b2).ok());
  EXPECT_EQ(b2.txn(b2.events()[0].txn).ts_ms, 1700000000000);
}

TEST(KafkaTypesFuzzFindings, DeeplyNestedJsonIsAnErrorNotAStackOverflow) {
  std::string deep = R"({"after":{"id":1,"v":)" + std::string(1000000, '[') + std::string(1000000, ']') +
                     R"(},"source":{"schema":"public","table":"t"},"op":"c"})";
  EnvelopeDecoder d;
  core::EventBatch b;
  auto r = d.Decode(Record(deep), b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("srv.public.t/0@3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("deeper than 1000"), std::string::npos) << r.status().message();
  // Brackets inside strings do not count.
  std::string in_string = R"({"after":{"id":1,"v":")" + std::string(5000, '[') +
                          R"("},"source":{"schema":"public","table":"t"},"op":"c"})";
  EXPECT_TRUE(d.Decode(Record(in_string), b).ok());
}

TEST(KafkaTypesFuzzFindings, MismatchMessagesStayValidUtf8) {
  // The value excerpt in the error was cut at byte 80, inside a two-byte character.
  ColumnCodec b64 = Codec("", "bytes");
  std::string value = "\"";
  for (int i = 0; i < 60; ++i) value += "\xC3\xA9";
  value += "\"";
  std::string r = Canonical(b64, value);
  ASSERT_EQ(r.rfind("error: ", 0), 0u);
  EXPECT_NO_THROW((void)json(r).dump());
}

}  // namespace
}  // namespace sluice::kafka
