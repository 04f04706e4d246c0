// StreamReader without a server (fixture: stream_reader_fixture.h), include.schema.changes:
// each table DDL on a captured table becomes a core::SchemaChange at its place.
#include "connectors/mysql/stream_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/connectors/mysql/stream_reader_fixture.h"

namespace sluice::mysql {
namespace {

using namespace stream_test;  // NOLINT(build/namespaces): the fixture's helpers

// include.schema.changes: each table DDL on a captured table becomes a core::SchemaChange at its
// place among the batch's events, with the statement, its position and the tables as the
// catalog describes them after it; the checkpoint right after the DDL covers it.
class MysqlSchemaChangeTest : public MysqlStreamReaderTest {
 protected:
  std::unique_ptr<StreamReader> NewSchemaChangeReader(bool include = true) {
    StreamOptions options;
    options.server_id = 5401;
    options.heartbeat_ms = kHeartbeatMs;
    options.include_schema_changes = include;
    return std::make_unique<StreamReader>(std::make_unique<FakeBinlogStream>(&server_),
                                          std::make_unique<FakeBinlogCatalog>(&server_), &filter_,
                                          options, logger_, &clock_);
  }
  // The QUERY event holding `sql`; its start position (0: none).
  uint64_t QueryAt(std::string_view sql) {
    for (const auto& e : server_.events) {
      if (TypeOf(e) == kQuery && e.bytes.find(sql) != std::string::npos) return e.pos;
    }
    return 0;
  }
  // Replays the QUERY event holding `from` with `to` (padded with spaces to the same length, so
  // that every position stays) in its place, its CRC32 recomputed.
  void RewriteQuery(const std::string& from, std::string to) {
    ASSERT_LE(to.size(), from.size());
    to.resize(from.size(), ' ');
    const uint64_t at = QueryAt(from);
    ASSERT_NE(at, 0u) << from;
    rewrites_.push_back({at, from, to});
    server_.damage = [this](uint64_t pos, std::string& bytes) {
      for (const auto& r : rewrites_) {
        if (r.pos != pos) continue;
        bytes.replace(bytes.find(r.from), r.from.size(), r.to);
        bytes.resize(bytes.size() - 4);
        testing::PutLe(bytes, Crc32(bytes), 4);
      }
    };
  }
  // Events and schema changes in batch order: "S CREATE shop.orders", "t shop.orders", ...
  core::Status DrainAll(StreamReader& reader, std::vector<std::string>& out,
                        std::vector<core::SchemaChange>* changes = nullptr,
                        std::vector<core::TxnInfo>* change_txns = nullptr,
                        std::vector<BinlogPosition>* checkpoints = nullptr) {
    for (int i = 0; i < 1000; ++i) {
      core::EventBatch batch;
      auto status = reader.Poll(batch, core::PollLimits{});
      if (!status.ok()) return status.status();
      size_t next = 0;
      auto flush_changes = [&](size_t before) {
        for (; next < batch.schema_changes().size() &&
               batch.schema_changes()[next].event_index <= before; ++next) {
          const core::SchemaChange& c = batch.schema_changes()[next];
          std::string line = "S";
          for (const auto& t : c.tables) {
            line += " " + std::string(core::SchemaChangeTypeName(t.type)) + " " + t.id.ToString();
          }
          out.push_back(line);
          if (changes) changes->push_back(c);
          if (change_txns) change_txns->push_back(batch.txn(c.txn));
        }
      };
      for (size_t e = 0; e < batch.events().size(); ++e) {
        flush_changes(e);
        out.push_back(Render(batch, batch.events()[e]));
      }
      flush_changes(batch.events().size());
      if (checkpoints && !batch.checkpoint().empty()) checkpoints->push_back(Checkpoint(batch));
      if (*status == core::PollStatus::kIdle && batch.empty() && batch.checkpoint().empty() &&
          batch.schema_changes().empty()) {
        return core::Status::Ok();
      }
    }
    return core::InternalError("the reader never went idle");
  }
  BinlogPosition FileStart() { return At(4); }

  struct Rewrite {
    uint64_t pos;
    std::string from, to;
  };
  std::vector<Rewrite> rewrites_;
};

constexpr std::string_view kCreateCustomers =
    "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40))";
constexpr std::string_view kCreateOrders =
    "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2))";

TEST_F(MysqlSchemaChangeTest, CreateTableOfCapturedTablesAtTheirPositions) {
  auto reader = NewSchemaChangeReader();
  ASSERT_TRUE(reader->Open(FileStart()).ok());
  std::vector<std::string> got;
  std::vector<core::SchemaChange> changes;
  std::vector<core::TxnInfo> txns;
  std::vector<BinlogPosition> checkpoints;
  ASSERT_TRUE(DrainAll(*reader, got, &changes, &txns, &checkpoints).ok());
  // audit is not captured: its CREATE is no schema change; the TRUNCATE is a truncate event
  // only. Each CREATE's schema change comes before the truncate the CREATE emits.
  std::vector<std::string> expected = {"S CREATE shop.customers", "t shop.customers",
                                       "S CREATE shop.orders", "t shop.orders"};
  expected.insert(expected.end(), kAll.begin(), kAll.end());
  EXPECT_EQ(got, expected);
  ASSERT_EQ(changes.size(), 2u);
  const uint64_t customers_at = QueryAt(kCreateCustomers);
  const uint64_t orders_at = QueryAt(kCreateOrders);
  ASSERT_NE(customers_at, 0u);
  EXPECT_EQ(changes[0].ddl, kCreateCustomers);
  EXPECT_EQ(changes[0].database, "shop");
  EXPECT_EQ(changes[0].source_pos, customers_at);
  EXPECT_EQ(txns[0].file, server_.file);
  EXPECT_FALSE(txns[0].gtid.empty()) << "MariaDB gives a DDL a GTID of its own";
  EXPECT_EQ(changes[1].ddl, kCreateOrders);
  EXPECT_EQ(changes[1].source_pos, orders_at);
  // The orders table as the catalog has it: columns, JDBC types, key.
  const core::SchemaChangeTable& t = changes[1].tables.at(0);
  EXPECT_TRUE(t.has_table);
  EXPECT_EQ(t.primary_key_column_names, std::vector<std::string>{"id"});
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[0].name, "id");
  EXPECT_EQ(t.columns[0].jdbc_type, 4);
  EXPECT_EQ(t.columns[0].type_name, "INT");
  EXPECT_EQ(t.columns[0].length, 11);
  EXPECT_EQ(t.columns[2].name, "amount");
  EXPECT_EQ(t.columns[2].jdbc_type, 3);
  EXPECT_EQ(t.columns[2].type_name, "DECIMAL");
  EXPECT_EQ(t.columns[2].length, 10);
  EXPECT_EQ(t.columns[2].scale, 2);
  EXPECT_EQ(t.columns[2].position, 3);
  // The batches' checkpoints are never inside a DDL: each is at the end of a transaction or DDL
  // event, and the last one is past both DDLs.
  auto end_of = [&](uint64_t pos) {
    for (const auto& e : server_.events) {
      if (e.pos == pos) return EndOf(e);
    }
    return uint64_t{0};
  };
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_TRUE(checkpoints.back().file > server_.file ||
              checkpoints.back().pos >= end_of(orders_at))
      << checkpoints.back().ToJson();
  // Resuming at the end of a DDL does not give it again; resuming at its start does.
  auto resumed = NewSchemaChangeReader();
  ASSERT_TRUE(resumed->Open(At(end_of(customers_at))).ok());
  got.clear();
  ASSERT_TRUE(DrainAll(*resumed, got).ok());
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0], "S CREATE shop.orders");
  auto replayed = NewSchemaChangeReader();
  ASSERT_TRUE(replayed->Open(At(customers_at)).ok());
  got.clear();
  ASSERT_TRUE(DrainAll(*replayed, got).ok());
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0], "S CREATE shop.customers");
}

TEST_F(MysqlSchemaChangeTest, OffGivesNoSchemaChange) {
  auto reader = NewSchemaChangeReader(false);
  ASSERT_TRUE(reader->Open(FileStart()).ok());
  std::vector<std::string> got;
  ASSERT_TRUE(DrainAll(*reader, got).ok());
  std::vector<std::string> expected = {"t shop.customers", "t shop.orders"};
  expected.insert(expected.end(), kAll.begin(), kAll.end());
  EXPECT_EQ(got, expected);
}

TEST_F(MysqlSchemaChangeTest, AlterHasTheTableAfterItAndDropANullTable) {
  RewriteQuery(std::string(kCreateOrders), "ALTER TABLE orders ADD COLUMN note VARCHAR(20)");
  RewriteQuery(std::string(kCreateCustomers), "DROP TABLE IF EXISTS customers");
  auto reader = NewSchemaChangeReader();
  ASSERT_TRUE(reader->Open(FileStart()).ok());
  std::vector<std::string> got;
  std::vector<core::SchemaChange> changes;
  ASSERT_TRUE(DrainAll(*reader, got, &changes).ok());
  // Neither emits a truncate (only CREATE and TRUNCATE do).
  std::vector<std::string> expected = {"S DROP shop.customers", "S ALTER shop.orders"};
  expected.insert(expected.end(), kAll.begin(), kAll.end());
  EXPECT_EQ(got, expected);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].ddl.substr(0, 30), "DROP TABLE IF EXISTS customers");
  EXPECT_FALSE(changes[0].tables.at(0).has_table);
  EXPECT_EQ(changes[1].ddl.rfind("ALTER TABLE orders ADD COLUMN note VARCHAR(20)", 0), 0u);
  EXPECT_TRUE(changes[1].tables.at(0).has_table);
  EXPECT_EQ(changes[1].tables.at(0).columns.size(), 3u);
}

// A reader restarted in the same process with what the last one handed over does not give the
// schema changes again (as for rows and truncates).
TEST_F(MysqlSchemaChangeTest, RestartedReaderSkipsWhatWasHandedOver) {
  auto first = NewSchemaChangeReader();
  ASSERT_TRUE(first->Open(FileStart()).ok());
  std::vector<std::string> got;
  ASSERT_TRUE(DrainAll(*first, got).ok());
  auto again = NewSchemaChangeReader();
  again->SkipEmitted(first->emitted());
  ASSERT_TRUE(again->Open(FileStart()).ok());
  got.clear();
  ASSERT_TRUE(DrainAll(*again, got).ok());
  EXPECT_TRUE(got.empty()) << got.front();
}

// A catalog that cannot be read at the DDL fails the poll (the pipeline retries from the
// committed position, before the DDL), never a schema change without its table.
TEST_F(MysqlSchemaChangeTest, UnreadableCatalogFailsThePoll) {
  auto reader = NewSchemaChangeReader();
  ASSERT_TRUE(reader->Open(FileStart()).ok());
  server_.load_error = core::UnavailableError("Lost connection to server during query");
  std::vector<std::string> got;
  core::Status s = DrainAll(*reader, got);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("mysql schema change at " + server_.file + ":" +
                             std::to_string(QueryAt(kCreateCustomers))),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(got.empty());
}

// A table gone by the time the DDL is read (a later DROP ran already) is left out of
// tableChanges; the statement is still published.
TEST_F(MysqlSchemaChangeTest, TableGoneWhenReadIsLeftOut) {
  auto reader = NewSchemaChangeReader();
  ASSERT_TRUE(reader->Open(FileStart()).ok());
  server_.tables.erase({"shop", "customers"});
  std::vector<std::string> got;
  std::vector<core::SchemaChange> changes;
  ASSERT_TRUE(DrainAll(*reader, got, &changes).ok());
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0].ddl, kCreateCustomers);
  EXPECT_TRUE(changes[0].tables.empty());
}


}  // namespace
}  // namespace sluice::mysql
