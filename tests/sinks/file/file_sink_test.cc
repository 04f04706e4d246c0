#include "sinks/file/file_sink.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "tests/common/schema_builders.h"

namespace sluice::sinks {
namespace {

core::TableSchemaPtr Schema(const std::string& table) {
  return testing::MakeSchema("public", table, {testing::Col("id", core::LogicalType::kInt64),
                                               testing::Col("v", core::LogicalType::kString)});
}

void AddInsert(core::EventBatch& b, const core::TableSchemaPtr& schema, int id, std::string v) {
  uint32_t txn = b.txns().empty() ? b.AddTxn({}) : 0;
  uint32_t row = b.BeginRow();
  b.AppendValue(std::to_string(id));
  b.AppendValue(v);
  b.EndRow();
  b.AddEvent({core::Op::kCreate, core::kNoRow, row, txn, schema});
}

std::vector<nlohmann::json> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("sluice-file-sink-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<FileSink> Make() {
    core::EnvelopeOptions o;
    o.name = "srv";
    auto sink = std::make_unique<FileSink>(dir_, o, true);
    EXPECT_TRUE(sink->Open().ok());
    return sink;
  }
  std::string dir_;
};

// Schema changes (a MySQL source's include.schema.changes) are skipped without error: no file
// of their own, the table's file holds its rows only, and the batch's checkpoint still counts.
TEST_F(FileSinkTest, SchemaChangesAreSkipped) {
  auto sink = Make();
  auto a = Schema("a");
  core::EventBatch batch;
  AddInsert(batch, a, 1, "x");
  core::SchemaChange change;
  change.event_index = 1;
  change.database = "public";
  change.ddl = "DROP TABLE a";
  core::SchemaChangeTable dropped;
  dropped.type = core::SchemaChangeTable::Type::kDrop;
  dropped.id = a->id;
  change.tables.push_back(dropped);
  batch.AddSchemaChange(change);
  batch.set_checkpoint({"pos-2"});
  ASSERT_TRUE(sink->Write(batch).ok());
  auto flushed = sink->Flush();
  ASSERT_TRUE(flushed.ok());
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ((*flushed)->value, "pos-2");
  EXPECT_EQ(ReadLines(sink->PathFor(a->id)).size(), 1u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 1u);
}

// Logical decoding messages go to <topic.prefix>.message.jsonl, one value per line as the Kafka
// sink writes them, in batch order; the table's file keeps its rows only.
TEST_F(FileSinkTest, LogicalMessagesGoToTheirOwnFile) {
  auto sink = Make();
  auto a = Schema("a");
  core::EventBatch batch;
  AddInsert(batch, a, 1, "x");
  batch.AddLogicalMessage({.event_index = 1, .transactional = true, .lsn = 9}, "audit",
                          std::string("\xff\x00", 2));
  batch.AddLogicalMessage({.event_index = 1, .lsn = 10}, "second", "plain");
  ASSERT_TRUE(sink->Write(batch).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(ReadLines(sink->PathFor(a->id)).size(), 1u);
  auto lines = ReadLines(sink->PathFor({"srv", "message"}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["op"], "m");
  EXPECT_EQ(lines[0]["message"]["prefix"], "audit");
  EXPECT_EQ(lines[0]["message"]["content"], "/wA=");
  EXPECT_EQ(lines[0]["source"]["lsn"], 9);
  EXPECT_EQ(lines[1]["message"]["content"], "cGxhaW4=");
}

TEST_F(FileSinkTest, OneFilePerTableAndFlushReturnsTheCheckpoint) {
  auto sink = Make();
  auto a = Schema("a"), b = Schema("b");
  core::EventBatch batch;
  AddInsert(batch, a, 1, "x");
  AddInsert(batch, b, 2, "y\nwith newline");
  AddInsert(batch, a, 3, "z");
  batch.set_checkpoint({"pos-1"});
  ASSERT_TRUE(sink->Write(batch).ok());
  auto flushed = sink->Flush();
  ASSERT_TRUE(flushed.ok());
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ((*flushed)->value, "pos-1");
  auto lines_a = ReadLines(sink->PathFor(a->id));
  ASSERT_EQ(lines_a.size(), 2u);
  EXPECT_EQ(lines_a[0]["after"]["id"], 1);
  EXPECT_EQ(lines_a[1]["after"]["v"], "z");
  auto lines_b = ReadLines(sink->PathFor(b->id));
  ASSERT_EQ(lines_b.size(), 1u);
  EXPECT_EQ(lines_b[0]["after"]["v"], "y\nwith newline");
  // A flush with nothing new carries no checkpoint.
  auto again = sink->Flush();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(FileSinkTest, ResetDropsWhatWasNotFlushed) {
  auto sink = Make();
  auto a = Schema("a");
  core::EventBatch batch;
  AddInsert(batch, a, 1, "durable");
  ASSERT_TRUE(sink->Write(batch).ok());
  ASSERT_TRUE(sink->Flush().ok());
  core::EventBatch more;
  for (int i = 0; i < 20000; ++i) AddInsert(more, a, i + 2, std::string(100, 'q'));  // > 1 MiB: hits the disk
  ASSERT_TRUE(sink->Write(more).ok());
  ASSERT_TRUE(sink->Reset().ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(ReadLines(sink->PathFor(a->id)).size(), 1u);
}

TEST_F(FileSinkTest, PartialLastLineFromACrashIsCutOnOpen) {
  auto a = Schema("a");
  {
    auto sink = Make();
    core::EventBatch batch;
    AddInsert(batch, a, 1, "whole");
    ASSERT_TRUE(sink->Write(batch).ok());
    ASSERT_TRUE(sink->Flush().ok());
    std::ofstream out(sink->PathFor(a->id), std::ios::app);
    out << "{\"before\":null,\"after\":{\"id\":2,";  // a crash mid-line
  }
  auto sink = Make();
  core::EventBatch batch;
  AddInsert(batch, a, 3, "after restart");
  ASSERT_TRUE(sink->Write(batch).ok());
  ASSERT_TRUE(sink->Flush().ok());
  auto lines = ReadLines(sink->PathFor(a->id));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["after"]["id"], 3);
}

TEST_F(FileSinkTest, HostileTableNamesStayInsideTheDirectory) {
  auto sink = Make();
  auto evil = std::make_shared<core::TableSchema>(*Schema("../../etc/passwd"));
  evil->id.schema = "..";
  std::string path = sink->PathFor(evil->id);
  EXPECT_EQ(path.find("/../"), std::string::npos) << path;
  EXPECT_EQ(std::filesystem::path(path).parent_path().string(), dir_);
}

TEST_F(FileSinkTest, FactoryValidatesTheDirectory) {
  core::ConnectorContext ctx;
  ctx.config = core::ConnectorConfig("c", {{"connector.class", "postgres"}});
  EXPECT_EQ(MakeFileSink(ctx).status().code(), core::StatusCode::kInvalidArgument);
  ctx.config.mutable_values()["sink.url"] = dir_;
  EXPECT_TRUE(MakeFileSink(ctx).ok());
}

// skipped.operations: a config without the key drops truncates, as Debezium's default (t);
// none writes them, so that replaying the file by key gives the source's state again.
TEST_F(FileSinkTest, TruncatesAreSkippedByDefaultAndWrittenWithNone) {
  auto schema = Schema("items");
  for (const char* skipped : {"", "none"}) {
    std::filesystem::remove_all(dir_);
    core::ConnectorContext ctx;
    ctx.config = core::ConnectorConfig("c", {{"connector.class", "postgres"}, {"sink.url", dir_}});
    if (*skipped != '\0') ctx.config.mutable_values()["skipped.operations"] = skipped;
    auto sink = MakeFileSink(ctx);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    ASSERT_TRUE((*sink)->Open().ok());
    core::EventBatch batch;
    AddInsert(batch, schema, 1, "a");
    batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, 0, schema});
    AddInsert(batch, schema, 2, "b");
    ASSERT_TRUE((*sink)->Write(batch).ok());
    ASSERT_TRUE((*sink)->Flush().ok());
    std::vector<std::string> ops;
    for (const auto& line : ReadLines(dir_ + "/public.items.jsonl")) ops.push_back(line["op"]);
    EXPECT_EQ(ops, (*skipped == '\0' ? std::vector<std::string>{"c", "c"}
                                     : std::vector<std::string>{"c", "t", "c"}))
        << "skipped.operations=" << skipped;
    (*sink)->Close();
  }
  core::ConnectorContext bad;
  bad.config = core::ConnectorConfig("c", {{"connector.class", "postgres"}, {"sink.url", dir_},
                                           {"skipped.operations", "r"}});
  auto refused = MakeFileSink(bad);
  EXPECT_EQ(refused.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("skipped.operations"), std::string::npos);
}

// A restarted snapshot's truncate (its transaction is a snapshot's) dropped by the default is
// said: a warning names the table and skipped.operations=none.
TEST_F(FileSinkTest, ASkippedSnapshotTruncateIsLoggedWithTheFix) {
  std::ostringstream written;
  auto logger = std::make_shared<spdlog::logger>(
      "t", std::make_shared<spdlog::sinks::ostream_sink_mt>(written));
  core::EnvelopeOptions o;
  o.name = "srv";
  FileSink sink(dir_, o, false, "t", logger);
  ASSERT_TRUE(sink.Open().ok());
  auto schema = Schema("items");
  core::EventBatch batch;
  core::TxnInfo snapshot;
  snapshot.snapshot = true;
  uint32_t txn = batch.AddTxn(snapshot);
  batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, schema});
  ASSERT_TRUE(sink.Write(batch).ok());
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_FALSE(std::filesystem::exists(sink.PathFor(schema->id)));
  logger->flush();
  EXPECT_NE(written.str().find("public.items"), std::string::npos) << written.str();
  EXPECT_NE(written.str().find("skipped.operations=none"), std::string::npos) << written.str();
}

// Issue 22 item 4: a timestamp beyond int64 microseconds was written as a wrapped number; the
// sink now refuses the event, naming table, key and column, and writes nothing of it.
TEST_F(FileSinkTest, RefusesATimestampWithoutAnExactEncodingByName) {
  auto sink = Make();
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "far"};
  s->columns = {{"id", core::LogicalType::kInt64}, {"ts", core::LogicalType::kTimestamp}};
  s->key = {0};
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({});
  for (const char* ts : {"2024-01-01 00:00:00", "294276-12-31 23:59:59.999999"}) {
    uint32_t row = batch.BeginRow();
    batch.AppendValue(ts[0] == '2' && ts[1] == '0' ? "1" : "2");
    batch.AppendValue(ts);
    batch.EndRow();
    batch.AddEvent({core::Op::kCreate, core::kNoRow, row, txn, s});
  }
  core::Status st = sink->Write(batch);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), core::StatusCode::kInvalidArgument);
  for (const char* part : {"file sink", "public.far", "{\"id\":2}", "column ts"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in " << st.message();
  }
  ASSERT_TRUE(sink->Flush().ok());
  auto lines = ReadLines(sink->PathFor(s->id));
  ASSERT_EQ(lines.size(), 1u);  // the first event only; nothing of the refused one
  EXPECT_EQ(lines[0]["after"]["ts"], 1704067200000000LL);
}

}  // namespace
}  // namespace sluice::sinks
