#include "core/envelope.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::core {
namespace {

TableSchemaPtr Schema() {
  auto s = std::make_shared<TableSchema>();
  s->id = {"public", "t"};
  s->database = "shop";
  s->columns = {{"id", LogicalType::kInt64}, {"ok", LogicalType::kBool},
                {"price", LogicalType::kDecimal}, {"blob", LogicalType::kBytes},
                {"d", LogicalType::kDate}, {"ts", LogicalType::kTimestamp},
                {"tz", LogicalType::kTimestampTz}, {"f", LogicalType::kFloat64},
                {"tags", LogicalType::kArray}, {"big", LogicalType::kString}};
  s->key = {0};
  return s;
}

TEST(EnvelopeTest, WritesDebeziumShapesAndTypes) {
  EventBatch b;
  uint32_t txn = b.AddTxn({1700000000000, false, false, 771, 0x16B3748, "", 0, ""});
  uint32_t before = b.BeginRow();
  b.AppendValue("7");
  for (int i = 0; i < 9; ++i) b.AppendNull();
  b.EndRow();
  uint32_t after = b.BeginRow();
  for (auto v : {"7", "t", "12.3400", "\x01\x02", "2024-02-29", "1970-01-01 00:00:01.5",
                 "2023-11-14 22:13:20+00", "NaN", "[1,2]"}) {
    b.AppendValue(v);
  }
  b.AppendUnchanged();
  b.EndRow();
  ChangeEvent e{Op::kUpdate, before, after, txn, Schema()};
  b.AddEvent(e);
  std::string out;
  EnvelopeOptions o;
  o.name = "srv";
  AppendEnvelopeJson(out, b, e, o, 42);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["op"], "u");
  EXPECT_EQ(j["ts_ms"], 42);
  EXPECT_EQ(j["before"]["id"], 7);
  EXPECT_TRUE(j["before"]["ok"].is_null());
  const auto& a = j["after"];
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["price"], "12.3400");
  EXPECT_EQ(a["blob"], "AQI=");
  EXPECT_EQ(a["d"], 19782);
  EXPECT_EQ(a["ts"], 1500000);
  EXPECT_EQ(a["tz"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(a["f"], "NaN");
  EXPECT_EQ(a["tags"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(a["big"], kUnavailableValuePlaceholder);
  EXPECT_EQ(j["source"]["connector"], "postgresql");
  EXPECT_EQ(j["source"]["name"], "srv");
  EXPECT_EQ(j["source"]["db"], "shop");
  EXPECT_EQ(j["source"]["schema"], "public");
  EXPECT_EQ(j["source"]["table"], "t");
  EXPECT_EQ(j["source"]["txId"], 771);
  EXPECT_EQ(j["source"]["lsn"], 0x16B3748);
  EXPECT_EQ(j["source"]["snapshot"], "false");

  std::string key;
  AppendKeyJson(key, b, e);
  EXPECT_EQ(nlohmann::json::parse(key), nlohmann::json({{"id", 7}}));
}

TEST(EnvelopeTest, DeleteAndTruncate) {
  EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t before = b.BeginRow();
  b.AppendValue("9");
  for (int i = 0; i < 9; ++i) b.AppendNull();
  b.EndRow();
  ChangeEvent del{Op::kDelete, before, kNoRow, txn, Schema()};
  ChangeEvent trunc{Op::kTruncate, kNoRow, kNoRow, txn, Schema()};
  std::string out, key;
  AppendEnvelopeJson(out, b, del, {}, 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j["after"].is_null());
  EXPECT_EQ(j["before"]["id"], 9);
  AppendKeyJson(key, b, del);
  EXPECT_EQ(key, "{\"id\":9}");
  out.clear();
  key.clear();
  AppendEnvelopeJson(out, b, trunc, {}, 0);
  EXPECT_EQ(nlohmann::json::parse(out)["op"], "t");
  AppendKeyJson(key, b, trunc);
  EXPECT_EQ(key, "null");
}

TEST(EnvelopeTest, SchemaBlockIsValidJson) {
  std::string out;
  EnvelopeOptions o;
  o.name = "srv";
  AppendEnvelopeSchemaJson(out, *Schema(), o);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["name"], "srv.public.t.Envelope");
  EXPECT_EQ(j["fields"][1]["fields"][4]["name"], "io.debezium.time.Date");
}

}  // namespace
}  // namespace sluice::core
