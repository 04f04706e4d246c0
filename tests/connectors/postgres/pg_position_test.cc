// PgPosition <-> Debezium's PostgreSQL offset map (GET/PATCH /connectors/{name}/offsets).
#include "connectors/postgres/pg_position.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::pg {
namespace {

using nlohmann::json;

TEST(PgPositionTest, StoredTextKeepsTxidAndCommitTime) {
  PgPosition p{0x16B3748, "slot_a", false, 771, 1700000000123456};
  auto back = PgPosition::Parse(p.ToSource().value);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->lsn, 0x16B3748u);
  EXPECT_EQ(back->slot, "slot_a");
  EXPECT_EQ(back->txid, 771u);
  EXPECT_EQ(back->ts_usec, 1700000000123456);
  // A position written before txid/ts_usec existed still reads.
  auto old = PgPosition::Parse(R"({"lsn":"0/16B3748","slot":"slot_a"})");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->txid, 0u);
}

TEST(PgPositionTest, ExportsDebeziumStreamingOffset) {
  PgPosition p{0x16B3748, "slot_a", false, 771, 1700000000123456};
  EXPECT_EQ(p.ToDebeziumOffset(), json::parse(R"({"lsn":23803720,"lsn_commit":23803720,
      "lsn_proc":23803720,"txId":771,"ts_usec":1700000000123456})"));
  PgPosition idle{0x2000, "slot_a", false, 0, 0};  // after a keepalive: no transaction known
  EXPECT_EQ(idle.ToDebeziumOffset(), json::parse(R"({"lsn":8192,"lsn_commit":8192,"lsn_proc":8192})"));
}

TEST(PgPositionTest, ExportsRunningSnapshotAsDebeziumDoes) {
  PgPosition p{0x2000, "slot_a", true, 0, 0};
  EXPECT_EQ(p.ToDebeziumOffset(),
            json::parse(R"({"lsn":8192,"snapshot":true,"last_snapshot_record":false})"));
}

TEST(PgPositionTest, RoundTripsThroughDebeziumShape) {
  PgPosition p{0x16B3748, "slot_a", false, 771, 1700000000123456};
  auto back = PgPosition::FromDebeziumOffset(p.ToDebeziumOffset(), "slot_a");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ToSource().value, p.ToSource().value);
}

TEST(PgPositionTest, ImportsDebeziumOffsetAtItsLastCommit) {
  // Debezium stopped inside the next transaction: lsn_proc is past lsn_commit. Resuming at the
  // commit re-sends that transaction (at-least-once), never skips it.
  auto p = PgPosition::FromDebeziumOffset(
      json::parse(R"({"lsn":5000,"lsn_commit":4096,"lsn_proc":5000,"txId":9,"ts_usec":1,
                      "transaction_id":null,"xmin":null})"),
      "slot_b");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->lsn, 4096u);
  EXPECT_EQ(p->slot, "slot_b");
  EXPECT_FALSE(p->snapshot_running);
  // An offset of an older Debezium (no lsn_commit) resumes at lsn.
  auto old = PgPosition::FromDebeziumOffset(json::parse(R"({"lsn":4096,"txId":9})"), "s");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->lsn, 4096u);
  // The last record of a finished snapshot: streaming starts at its lsn.
  auto snap = PgPosition::FromDebeziumOffset(
      json::parse(R"({"lsn":4096,"snapshot":true,"last_snapshot_record":true})"), "s");
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_FALSE(snap->snapshot_running);
}

TEST(PgPositionTest, RefusesDebeziumOffsetsItCannotResume) {
  auto refused = [](const char* text) {
    auto p = PgPosition::FromDebeziumOffset(json::parse(text), "s");
    EXPECT_EQ(p.status().code(), core::StatusCode::kInvalidArgument) << text;
    return p.status().message();
  };
  EXPECT_NE(refused(R"({"lsn":1,"snapshot":true,"last_snapshot_record":false})").find("snapshot"),
            std::string::npos);
  EXPECT_NE(refused(R"({"lsn":1,"incremental_snapshot_collections":"[]"})").find("incremental"),
            std::string::npos);
  EXPECT_NE(refused(R"({"lsn":1,"position":"x"})").find("'position'"), std::string::npos);
  EXPECT_NE(refused(R"({"txId":1})").find("no 'lsn'"), std::string::npos);
  refused(R"({"lsn":"0/16B3748"})");  // Sluice's text form, not Debezium's number
  refused(R"({"lsn":-1})");
  refused(R"({"lsn":1,"lsn_commit":1.5})");
  refused(R"({"lsn":1,"txId":4294967296})");
  refused(R"({"lsn":1,"snapshot":"true"})");
  refused(R"([1])");
}

}  // namespace
}  // namespace sluice::pg
