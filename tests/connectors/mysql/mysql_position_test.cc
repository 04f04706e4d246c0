// BinlogPosition <-> Debezium's MySQL offset map (GET/PATCH /connectors/{name}/offsets).
#include "connectors/mysql/mysql_position.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::mysql {
namespace {

using nlohmann::json;

TEST(MysqlPositionTest, ExportsDebeziumOffset) {
  BinlogPosition p{"bin.000003", 1234, "0-1-42", false};
  EXPECT_EQ(p.ToDebeziumOffset(), json::parse(R"({"file":"bin.000003","pos":1234,"gtids":"0-1-42"})"));
  BinlogPosition no_gtid{"bin.000003", 1234, "", false};
  EXPECT_EQ(no_gtid.ToDebeziumOffset(), json::parse(R"({"file":"bin.000003","pos":1234})"));
  BinlogPosition snapshot{"bin.000003", 1234, "", true};
  EXPECT_EQ(snapshot.ToDebeziumOffset(),
            json::parse(R"({"file":"bin.000003","pos":1234,"snapshot":true})"));
}

// Issue 17: incremental-snapshot progress travels in the streaming position, durable with the
// chunks it counts; a position without it (every older one) parses as before.
TEST(MysqlPositionTest, CarriesIncrementalSnapshotProgress) {
  BinlogPosition p{"bin.000003", 1234, "0-1-42", false};
  p.incremental = R"({"filter":{"table.include.list":"shop.orders"},"tables":[{"table":"shop.orders","chunks":3}]})";
  auto back = BinlogPosition::Parse(p.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(json::parse(back->incremental), json::parse(p.incremental));
  EXPECT_EQ(back->file, "bin.000003");
  EXPECT_EQ(back->pos, 1234u);
  auto old = BinlogPosition::Parse(R"({"file":"bin.000003","pos":1234,"gtid":"0-1-42"})");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->incremental.empty());
  EXPECT_EQ(old->ToJson(), BinlogPosition({"bin.000003", 1234, "0-1-42", false}).ToJson());
  auto bad = BinlogPosition::Parse(R"({"file":"bin.000003","pos":1234,"incremental":[1]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("incremental"), std::string::npos);
  // Debezium's offset has no place for it: GET …/offsets leaves it out.
  EXPECT_FALSE(p.ToDebeziumOffset().contains("incremental"));
}

TEST(MysqlPositionTest, RoundTripsThroughDebeziumShape) {
  BinlogPosition p{"bin.000003", 1234, "0-1-42,1-2-7", false};
  auto back = BinlogPosition::FromDebeziumOffset(p.ToDebeziumOffset());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ToJson(), p.ToJson());
}

TEST(MysqlPositionTest, ImportsDebeziumOffsetAtTheTransactionStart) {
  // Debezium stopped inside a transaction (event/row non-zero): file/pos is its start, and the
  // transaction is sent again in full.
  auto p = BinlogPosition::FromDebeziumOffset(json::parse(
      R"({"ts_sec":1725644339,"file":"mysql-bin.000004","pos":138466,"row":1,"server_id":223344,
          "event":2,"transaction_id":null})"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->file, "mysql-bin.000004");
  EXPECT_EQ(p->pos, 138466u);
  EXPECT_EQ(p->gtid, "");
  EXPECT_FALSE(p->snapshot_running);
  auto done = BinlogPosition::FromDebeziumOffset(
      json::parse(R"({"file":"b.1","pos":4,"snapshot":true,"snapshot_completed":true})"));
  ASSERT_TRUE(done.ok()) << done.status().message();
}

TEST(MysqlPositionTest, RefusesDebeziumOffsetsItCannotResume) {
  auto refused = [](const char* text) {
    auto p = BinlogPosition::FromDebeziumOffset(json::parse(text));
    EXPECT_EQ(p.status().code(), core::StatusCode::kInvalidArgument) << text;
    return p.status().message();
  };
  EXPECT_NE(refused(R"({"file":"b.1","pos":4,"snapshot":true})").find("snapshot"),
            std::string::npos);
  EXPECT_NE(refused(R"({"file":"b.1","pos":4,"incremental_snapshot_signal_offset":1})")
                .find("incremental"),
            std::string::npos);
  EXPECT_NE(refused(R"({"file":"b.1","pos":4,"gtid":"0-1-1"})").find("'gtid'"), std::string::npos);
  EXPECT_NE(refused(R"({"pos":4})").find("'file' and 'pos'"), std::string::npos);
  refused(R"({"file":"b.1","pos":3})");
  refused(R"({"file":"","pos":4})");
  refused(R"({"file":"b.1","pos":"4"})");
  refused(R"({"file":"b.1","pos":4,"row":-1})");
  refused(R"("b.1:4")");
}

}  // namespace
}  // namespace sluice::mysql
