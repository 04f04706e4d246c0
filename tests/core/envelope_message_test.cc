// Debezium's PostgreSQL logical decoding message records (core/envelope_message.cc), byte for
// byte: key and value, with and without schemas, under binary.handling.mode bytes and hex.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/envelope.h"
#include "core/event.h"

namespace sluice::core {
namespace {

struct Fixture {
  EventBatch batch;
  LogicalMessage message;
  EnvelopeOptions options;

  explicit Fixture(bool transactional) {
    TxnInfo txn;
    txn.ts_ms = 1700000000123;
    txn.ts_us = txn.ts_ms * 1000;
    txn.txid = transactional ? 771 : 0;
    txn.lsn = 0x2000;
    txn.last_commit_lsn = 0x1000;
    auto db = std::make_shared<TableSchema>();
    db->database = "shop";
    message = {.txn = batch.AddTxn(txn), .transactional = transactional, .lsn = 0x1800,
               .source = db};
    batch.AddLogicalMessage(message, "audit", std::string("\xff\x00\x80", 3));
    message = batch.logical_messages()[0];
    options.name = "srv";
    options.version = "0.1.0";
  }
};

constexpr int64_t kNowNs = 1700000000999000000;

TEST(LogicalMessageEnvelope, KeyWithAndWithoutSchema) {
  std::string key;
  AppendLogicalMessageKeyJson(key, "audit", false);
  EXPECT_EQ(key, R"({"prefix":"audit"})");
  key.clear();
  AppendLogicalMessageKeyJson(key, "a\"b", true);
  EXPECT_EQ(key,
            R"({"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"}],)"
            R"("optional":false,"name":"io.debezium.connector.postgresql.MessageKey","version":1},)"
            R"("payload":{"prefix":"a\"b"}})");
}

TEST(LogicalMessageEnvelope, TransactionalValueHasItsTxIdAndBase64Content) {
  Fixture f(true);
  std::string value;
  AppendLogicalMessageValueJson(value, f.batch, f.message, f.options, kNowNs);
  EXPECT_EQ(value,
            R"({"op":"m","ts_ms":1700000000999,"source":{"version":"0.1.0","connector":"postgresql",)"
            R"("name":"srv","ts_ms":1700000000123,"snapshot":"false","db":"shop",)"
            R"("sequence":"[\"4096\",\"6144\"]","ts_us":1700000000123000,"ts_ns":1700000000123000000,)"
            R"("schema":"","table":"","txId":771,"lsn":6144,"xmin":null},"transaction":null,)"
            R"("message":{"prefix":"audit","content":"/wCA"}})");
}

TEST(LogicalMessageEnvelope, NonTransactionalValueHasNullTxIdAndHexUnderHexMode) {
  Fixture f(false);
  f.options.modes.binary = BinaryMode::kHex;
  std::string value;
  AppendLogicalMessageValueJson(value, f.batch, f.message, f.options, kNowNs);
  EXPECT_NE(value.find(R"("txId":null,"lsn":6144)"), std::string::npos) << value;
  EXPECT_NE(value.find(R"("message":{"prefix":"audit","content":"ff0080"}})"), std::string::npos)
      << value;
}

TEST(LogicalMessageEnvelope, ValueSchemaNamesDebeziumsStructs) {
  Fixture f(true);
  f.options.include_schema = true;
  std::string value;
  AppendLogicalMessageValueJson(value, f.batch, f.message, f.options, kNowNs);
  for (const char* part :
       {R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"op"},)"
        R"({"type":"int64","optional":true,"field":"ts_ms"},)",
        R"("name":"io.debezium.connector.postgresql.Source","field":"source"})",
        R"("name":"event.block","version":1,"field":"transaction"})",
        R"({"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"},)"
        R"({"type":"bytes","optional":true,"field":"content"}],"optional":false,)"
        R"("name":"io.debezium.connector.postgresql.Message","version":1,"field":"message"}],)"
        R"("optional":false,"name":"io.debezium.connector.postgresql.MessageValue","version":1},)"
        R"("payload":{"op":"m",)"}) {
    EXPECT_NE(value.find(part), std::string::npos) << part << "\nin: " << value;
  }
  EXPECT_EQ(value.back(), '}');
}

}  // namespace
}  // namespace sluice::core
