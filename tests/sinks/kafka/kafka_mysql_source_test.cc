// The Kafka encoder's MySQL "source" block per event (issue #16): the encoder caches the block
// of a transaction, but Debezium's "pos" and "row" belong to each row (its ROWS event and its
// index there), so consecutive rows of one transaction must not share them; "server_id" and
// "thread" come from the transaction.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sinks/kafka/kafka_envelope.h"

namespace sluice::sinks::kafka_sink {
namespace {

using nlohmann::json;

core::TableSchemaPtr Items() {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"shop", "items"};
  s->database = "shop";
  s->columns = {core::Column{"id", core::LogicalType::kInt32, "int(11)", false}};
  s->key = {0};
  return s;
}

json Source(RecordEncoder& enc, const core::EventBatch& b, const core::ChangeEvent& e) {
  enc.EncodeValue(b, e, 7);
  return json::parse(enc.value())["source"];
}

TEST(KafkaMysqlSourceTest, EachRowCarriesItsEventPositionAndIndex) {
  core::EventBatch b;
  core::TxnInfo info;
  info.ts_ms = 1000;
  info.file = "mysql-bin.000003";
  info.pos = 400;
  info.gtid = "0-7-12";
  info.server_id = 7;
  info.thread = 42;
  const uint32_t txn = b.AddTxn(info);
  auto items = Items();
  std::vector<core::ChangeEvent> events;
  const std::pair<uint32_t, uint64_t> where[] = {{0, 520}, {1, 520}, {2, 520}, {0, 700}};
  for (int i = 0; i < 4; ++i) {
    uint32_t row = b.BeginRow();
    b.AppendValue(std::to_string(i));
    b.EndRow();
    events.push_back({.op = core::Op::kCreate, .after = row, .txn = txn, .table = items,
                      .source_row = where[i].first, .source_pos = where[i].second});
  }
  core::EnvelopeOptions o;
  o.name = "srv";
  o.connector = "mysql";
  RecordEncoder enc(o, false);
  for (int i = 0; i < 4; ++i) {
    json s = Source(enc, b, events[i]);
    EXPECT_EQ(s["pos"], where[i].second) << i;
    EXPECT_EQ(s["row"], where[i].first) << i;
    EXPECT_EQ(s["server_id"], 7) << i;
    EXPECT_EQ(s["thread"], 42) << i;
    EXPECT_EQ(s["gtid"], "0-7-12") << i;
    EXPECT_EQ(s["file"], "mysql-bin.000003") << i;
    EXPECT_TRUE(s["query"].is_null()) << i;
  }
  // An event without its own position (a snapshot read) has the transaction's, row 0.
  core::ChangeEvent plain{core::Op::kRead, core::kNoRow, events[0].after, txn, items};
  json s = Source(enc, b, plain);
  EXPECT_EQ(s["pos"], 400);
  EXPECT_EQ(s["row"], 0);
  // PostgreSQL blocks have none of these fields.
  core::EnvelopeOptions pg;
  pg.name = "srv";
  RecordEncoder pg_enc(pg, false);
  s = Source(pg_enc, b, events[1]);
  EXPECT_FALSE(s.contains("row"));
  EXPECT_FALSE(s.contains("pos"));
}

}  // namespace
}  // namespace sluice::sinks::kafka_sink
