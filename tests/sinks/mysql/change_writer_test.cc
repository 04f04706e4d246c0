// Hermetic unit tests of the MySQL sink's ChangeWriter decisions: which statements a batch
// becomes (grouping by table, multi-row upserts and deletes, precise updates, key changes,
// truncates, statement size limits), that DDL never interrupts a statement, and how a rejected
// row or a lost connection is reported. The server is replaced at the writer's two seams: a
// recording StatementRunner that can fail on demand, and plans built in memory (BuildTablePlan).
#include "sinks/mysql/change_writer.h"

#include <gtest/gtest.h>
#include <mysql.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/common/schema_builders.h"

namespace sluice::sinks::mysql_sink {
namespace {

using core::LogicalType;
using core::Op;
using sluice::testing::Col;
using sluice::testing::MakeSchema;

// Records every statement; fails the statements `fail_when` picks with the given server error.
class RecordingRunner final : public StatementRunner {
 public:
  RecordingRunner() : handle_(mysql_init(nullptr)) {
    // The session state of a sink connection: the server reports NO_BACKSLASH_ESCAPES.
    handle_->server_status |= SERVER_STATUS_NO_BACKSLASH_ESCAPES;
  }

  core::Status Execute(const std::string& sql) override {
    log.push_back(sql);
    if (fail_when && fail_when(sql)) {
      last_code_ = fail_code;
      last_message_ = fail_message;
      return mysql::StatusFromMysql(static_cast<unsigned int>(fail_code), fail_message,
                                    "mysql sink");
    }
    last_code_ = 0;
    last_message_.clear();
    return core::Status::Ok();
  }
  StringEscaper escaper() const override { return StringEscaper(handle_.get()); }
  int last_error_code() const override { return last_code_; }
  const std::string& last_error_message() const override { return last_message_; }
  // With load_data set, a load keeps its statement and pieces; EndLoad logs "LOAD <statement>"
  // and "DATA <every piece>", and answers with load_warnings warnings, or fails as fail_when
  // says for the statement (the server's reply comes at the end of a streamed load).
  bool supports_load_data() const override { return load_data; }
  core::Status BeginLoad(const std::string& sql) override {
    load_sql = sql;
    pieces.clear();
    return core::Status::Ok();
  }
  void AppendLoad(std::string_view piece) override { pieces.emplace_back(piece); }
  core::Status EndLoad(unsigned int* warnings) override {
    *warnings = 0;
    core::Status s = Execute("LOAD " + load_sql);
    std::string data;
    for (const std::string& piece : pieces) data += piece;
    log.push_back("DATA " + data);
    if (s.ok()) *warnings = load_warnings;
    return s;
  }
  void AbortLoad() override { log.push_back("ABORT LOAD"); }
  std::string load_sql;
  std::vector<std::string> pieces;  // of the load in progress or the last one
  bool load_data = false;
  unsigned int load_warnings = 0;

  void SinkRejects(std::function<bool(const std::string&)> when, int code, std::string message) {
    fail_when = std::move(when);
    fail_code = code;
    fail_message = std::move(message);
  }

  std::vector<std::string> log;
  std::function<bool(const std::string&)> fail_when;
  int fail_code = 0;
  std::string fail_message;

 private:
  mysql::MysqlPtr handle_;
  int last_code_ = 0;
  std::string last_message_;
};

// Plans built in memory; the first sight of a schema stands for its DDL: it runs before_ddl and
// logs "DDL <table>" into the runner's log, so tests see the order.
class InMemoryPlans final : public PlanSource {
 public:
  explicit InMemoryPlans(RecordingRunner& runner) : runner_(runner) {}
  core::Result<const TablePlan*> PlanFor(const core::TableSchemaPtr& schema, bool /*touch*/,
                                         const std::function<core::Status()>& before_ddl) override {
    auto it = plans_.find(schema.get());
    if (it != plans_.end()) return it->second.get();
    SLUICE_RETURN_IF_ERROR(before_ddl());
    runner_.log.push_back("DDL " + schema->id.table);
    auto plan = std::make_unique<TablePlan>(BuildTablePlan(schema, "db", schema->id.table, {}));
    const TablePlan* out = plan.get();
    plans_.emplace(schema.get(), std::move(plan));
    return out;
  }

 private:
  RecordingRunner& runner_;
  std::map<const core::TableSchema*, std::unique_ptr<TablePlan>> plans_;
};

core::TableSchemaPtr Orders() {
  return MakeSchema("public", "orders",
                    {Col("id", LogicalType::kInt64), Col("note", LogicalType::kString)});
}
core::TableSchemaPtr Items() {
  return MakeSchema("public", "items",
                    {Col("id", LogicalType::kInt64), Col("qty", LogicalType::kInt32)});
}

class ChangeWriterTest : public ::testing::Test {
 protected:
  ChangeWriterTest() : plans_(runner_), writer_(runner_, plans_) {}

  // One row of text values: "NULL" is a null cell, "\x01" an unchanged (TOAST) one.
  uint32_t Row(const std::vector<std::string>& values) {
    uint32_t row = batch_.BeginRow();
    for (const std::string& v : values) {
      if (v == "NULL") {
        batch_.AppendNull();
      } else if (v == "\x01") {
        batch_.AppendUnchanged();
      } else {
        batch_.AppendValue(v);
      }
    }
    batch_.EndRow();
    return row;
  }
  void SourceEmits(Op op, const core::TableSchemaPtr& table, std::vector<std::string> before,
                   std::vector<std::string> after) {
    uint32_t b = before.empty() ? core::kNoRow : Row(before);
    uint32_t a = after.empty() ? core::kNoRow : Row(after);
    batch_.AddEvent({op, b, a, 0, table});
  }

  RecordingRunner runner_;
  InMemoryPlans plans_;
  ChangeWriter writer_;
  core::EventBatch batch_;
  core::TableSchemaPtr orders_ = Orders();
  core::TableSchemaPtr items_ = Items();
};

constexpr const char* kOrdersUpsert = "INSERT INTO `db`.`orders` (`id`,`note`) VALUES ";
constexpr const char* kOrdersSuffix = " ON DUPLICATE KEY UPDATE `note`=VALUES(`note`)";

TEST_F(ChangeWriterTest, RunsOfInsertsBecomeOneMultiRowUpsert) {
  SourceEmits(Op::kRead, orders_, {}, {"1", "a"});
  SourceEmits(Op::kCreate, orders_, {}, {"2", "it's"});
  SourceEmits(Op::kUpdate, orders_, {"3", "x"}, {"3", "y"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 2u);
  EXPECT_EQ(runner_.log[0], "DDL orders");
  EXPECT_EQ(runner_.log[1],
            std::string(kOrdersUpsert) + "(1,'a'),(2,'it''s'),(3,'y')" + kOrdersSuffix);
}

TEST_F(ChangeWriterTest, InterleavedTablesAreGroupedByTableKeepingOrderWithinEach) {
  SourceEmits(Op::kCreate, orders_, {}, {"1", "a"});
  SourceEmits(Op::kCreate, items_, {}, {"10", "5"});
  SourceEmits(Op::kUpdate, orders_, {"1", "a"}, {"1", "b"});
  SourceEmits(Op::kCreate, items_, {}, {"11", "6"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  // DDL for items happens when its group starts, after the orders statement went out.
  ASSERT_EQ(runner_.log.size(), 4u);
  EXPECT_EQ(runner_.log[0], "DDL orders");
  EXPECT_EQ(runner_.log[1], std::string(kOrdersUpsert) + "(1,'a'),(1,'b')" + kOrdersSuffix);
  EXPECT_EQ(runner_.log[2], "DDL items");
  EXPECT_EQ(runner_.log[3],
            "INSERT INTO `db`.`items` (`id`,`qty`) VALUES (10,5),(11,6) ON DUPLICATE KEY UPDATE "
            "`qty`=VALUES(`qty`)");
}

TEST_F(ChangeWriterTest, DeletesOfASingleColumnKeyBecomeOneInList) {
  SourceEmits(Op::kDelete, orders_, {"1", "a"}, {});
  SourceEmits(Op::kDelete, orders_, {"2", "NULL"}, {});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 2u);
  EXPECT_EQ(runner_.log[1], "DELETE FROM `db`.`orders` WHERE `id` IN (1,2)");
}

TEST_F(ChangeWriterTest, AKeyChangeDeletesTheOldKeyBeforeWritingTheNewRow) {
  SourceEmits(Op::kUpdate, orders_, {"1", "a"}, {"9", "a"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 3u);
  EXPECT_EQ(runner_.log[1], "DELETE FROM `db`.`orders` WHERE `id` IN (1)");
  EXPECT_EQ(runner_.log[2], std::string(kOrdersUpsert) + "(9,'a')" + kOrdersSuffix);
}

TEST_F(ChangeWriterTest, UnchangedCellsMakeAPreciseUpdateThatLeavesThemOut) {
  auto docs = MakeSchema("public", "docs", {Col("id", LogicalType::kInt64),
                                            Col("big", LogicalType::kString),
                                            Col("title", LogicalType::kString)});
  SourceEmits(Op::kCreate, docs, {}, {"1", "long", "a"});
  SourceEmits(Op::kUpdate, docs, {}, {"1", "\x01", "b"});
  SourceEmits(Op::kUpdate, docs, {}, {"1", "\x01", "\x01"});  // nothing to set: no statement
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 3u);
  EXPECT_EQ(runner_.log[1],
            "INSERT INTO `db`.`docs` (`id`,`big`,`title`) VALUES (1,'long','a') ON DUPLICATE KEY "
            "UPDATE `big`=VALUES(`big`),`title`=VALUES(`title`)");
  EXPECT_EQ(runner_.log[2], "UPDATE `db`.`docs` SET `title`='b' WHERE `id`<=>1");
}

TEST_F(ChangeWriterTest, KeylessDeleteRemovesOneRowEqualToTheBeforeImage) {
  auto log = MakeSchema("public", "log",
                        {Col("at", LogicalType::kInt64), Col("msg", LogicalType::kString)},
                        /*key=*/{});
  SourceEmits(Op::kDelete, log, {"7", "NULL"}, {});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 2u);
  EXPECT_EQ(runner_.log[1], "DELETE FROM `db`.`log` WHERE `at`<=>7 AND `msg`<=>NULL LIMIT 1");
}

TEST_F(ChangeWriterTest, TruncateIsADeleteAfterThePendingStatement) {
  SourceEmits(Op::kCreate, orders_, {}, {"1", "a"});
  batch_.AddEvent({Op::kTruncate, core::kNoRow, core::kNoRow, 0, orders_});
  SourceEmits(Op::kCreate, orders_, {}, {"2", "b"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 4u);
  EXPECT_EQ(runner_.log[1], std::string(kOrdersUpsert) + "(1,'a')" + kOrdersSuffix);
  EXPECT_EQ(runner_.log[2], "DELETE FROM `db`.`orders`");  // TRUNCATE would commit
  EXPECT_EQ(runner_.log[3], std::string(kOrdersUpsert) + "(2,'b')" + kOrdersSuffix);
}

TEST_F(ChangeWriterTest, StatementsAreSplitAtTheConfiguredSize) {
  writer_.SetLimits(/*max_statement_bytes=*/80, /*max_packet_bytes=*/1 << 20);
  for (int i = 0; i < 6; ++i) SourceEmits(Op::kCreate, orders_, {}, {std::to_string(i), "x"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_GT(runner_.log.size(), 2u);
  const std::string prefix = kOrdersUpsert, suffix = kOrdersSuffix;
  std::string rows;
  for (size_t i = 1; i < runner_.log.size(); ++i) {
    const std::string& sql = runner_.log[i];
    ASSERT_TRUE(sql.starts_with(prefix) && sql.ends_with(suffix)) << sql;
    EXPECT_LE(sql.size(), 80u + 16u + suffix.size()) << sql;  // one row past the limit at most
    if (!rows.empty()) rows += ',';
    rows += sql.substr(prefix.size(), sql.size() - prefix.size() - suffix.size());
  }
  // Every row exactly once, in order, whatever the split.
  EXPECT_EQ(rows, "(0,'x'),(1,'x'),(2,'x'),(3,'x'),(4,'x'),(5,'x')");
}

TEST_F(ChangeWriterTest, ARowTooLargeForTheServerIsRefusedNamingItsKey) {
  writer_.SetLimits(4u << 20, /*max_packet_bytes=*/2048);
  SourceEmits(Op::kCreate, orders_, {}, {"42", std::string(4096, 'z')});
  core::Status s = writer_.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("key (id='42')"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("max_allowed_packet"), std::string::npos) << s.message();
}

TEST_F(ChangeWriterTest, ARejectedValueNamesTheRowTheServerPointsAt) {
  runner_.SinkRejects([](const std::string& sql) { return sql.starts_with("INSERT"); }, 1406,
                      "Data too long for column 'note' at row 2");
  SourceEmits(Op::kCreate, orders_, {}, {"1", "a"});
  SourceEmits(Op::kCreate, orders_, {}, {"2", "much too long"});
  core::Status s = writer_.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("`db`.`orders` key (id='2')"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mysql error 1406"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("widen the target column"), std::string::npos) << s.message();
}

TEST_F(ChangeWriterTest, WithoutARowNumberTheRejectedRowIsFoundOneByOne) {
  // A CHECK constraint names no row: the writer retries the rows singly to find it.
  runner_.SinkRejects([](const std::string& sql) { return sql.find("'bad'") != std::string::npos; },
                      4025, "CONSTRAINT `note_ok` failed for `db`.`orders`");
  SourceEmits(Op::kCreate, orders_, {}, {"1", "ok"});
  SourceEmits(Op::kCreate, orders_, {}, {"2", "bad"});
  SourceEmits(Op::kCreate, orders_, {}, {"3", "ok"});
  core::Status s = writer_.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("key (id='2')"), std::string::npos) << s.message();
  // The multi-row statement, then single rows until the failing one.
  ASSERT_EQ(runner_.log.size(), 4u);
  EXPECT_EQ(runner_.log[2], std::string(kOrdersUpsert) + "(1,'ok')" + kOrdersSuffix);
  EXPECT_EQ(runner_.log[3], std::string(kOrdersUpsert) + "(2,'bad')" + kOrdersSuffix);
}

TEST_F(ChangeWriterTest, ALostConnectionIsRetriableAndDropsTheStatementInProgress) {
  runner_.SinkRejects([](const std::string&) { return true; }, 2013,
                      "Lost connection to server during query");
  SourceEmits(Op::kCreate, orders_, {}, {"1", "a"});
  core::Status s = writer_.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("`db`.`orders`"), std::string::npos) << s.message();
  // After the pipeline's reset the next batch starts a statement of its own.
  runner_.fail_when = nullptr;
  runner_.log.clear();
  batch_.Clear();
  SourceEmits(Op::kCreate, orders_, {}, {"2", "b"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 1u);
  EXPECT_EQ(runner_.log[0], std::string(kOrdersUpsert) + "(2,'b')" + kOrdersSuffix);
}

TEST_F(ChangeWriterTest, ADeadlockIsRetriedAsALostTransaction) {
  runner_.SinkRejects([](const std::string&) { return true; }, 1213,
                      "Deadlock found when trying to get lock; try restarting transaction");
  SourceEmits(Op::kDelete, orders_, {"1", "a"}, {});
  core::Status s = writer_.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kAborted) << s.ToString();
  EXPECT_TRUE(s.IsRetriable());
}

// Snapshot rows go in as one LOAD DATA LOCAL INFILE from memory, in LOAD DATA's escaped text
// format; changes stay INSERT/DELETE statements.
TEST_F(ChangeWriterTest, SnapshotRowsAreLoadedInBulkAfterASavepoint) {
  runner_.load_data = true;
  SourceEmits(Op::kRead, orders_, {}, {"1", "tab\there"});
  SourceEmits(Op::kRead, orders_, {}, {"2", "NULL"});
  SourceEmits(Op::kRead, orders_, {}, {"3", "back\\slash\nline \\N"});
  SourceEmits(Op::kCreate, orders_, {}, {"4", "d"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 5u) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log[1], "SAVEPOINT sluice_load");
  EXPECT_EQ(runner_.log[2],
            "LOAD LOAD DATA LOCAL INFILE 'sluice-rows' INTO TABLE `db`.`orders` CHARACTER SET "
            "utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' "
            "(`id`,`note`)");
  EXPECT_EQ(runner_.log[3], "DATA 1\ttab\\there\n2\t\\N\n3\tback\\\\slash\\nline \\\\N\n");
  EXPECT_EQ(runner_.log[4], std::string(kOrdersUpsert) + "(4,'d')" + kOrdersSuffix);
}

// LOAD DATA LOCAL skips a duplicate key and clips a bad value with a warning: the load is
// rolled back and the same rows, read back from its text, are upserted as INSERT; the table
// stays on INSERT.
TEST_F(ChangeWriterTest, ALoadWithWarningsIsUndoneAndWrittenAsUpserts) {
  runner_.load_data = true;
  runner_.load_warnings = 1;
  SourceEmits(Op::kRead, orders_, {}, {"1", "a"});
  SourceEmits(Op::kRead, orders_, {}, {"2", "b"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  // The rows reach the server at the end of the batch; the statement's reply waits for more
  // rows or the commit.
  ASSERT_EQ(runner_.log.size(), 2u) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log[1], "SAVEPOINT sluice_load");
  EXPECT_EQ(runner_.pieces, std::vector<std::string>{"1\ta\n2\tb\n"});
  ASSERT_TRUE(writer_.Finish().ok());
  ASSERT_EQ(runner_.log.size(), 6u) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log[4], "ROLLBACK TO SAVEPOINT sluice_load");
  EXPECT_EQ(runner_.log[5], std::string(kOrdersUpsert) + "(1,'a'),(2,'b')" + kOrdersSuffix);
  runner_.log.clear();
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_EQ(runner_.log.size(), 1u) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log[0], std::string(kOrdersUpsert) + "(1,'a'),(2,'b')" + kOrdersSuffix);
}

// A load spans batches (the first batch is gone when it runs); its warning fallback reads every
// kind of value back from the load's text: escapes, NULL, the word NULL, bytes.
TEST_F(ChangeWriterTest, ALoadSpansBatchesAndItsFallbackReadsTheRowsBack) {
  runner_.load_data = true;
  runner_.load_warnings = 2;
  auto blobs = MakeSchema("public", "blobs",
                          {Col("id", LogicalType::kInt64), Col("note", LogicalType::kString),
                           Col("data", LogicalType::kBytes)});
  SourceEmits(Op::kRead, blobs, {}, {"1", "tab\there\\N", std::string("\0\xff\\", 3)});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  batch_ = core::EventBatch();
  SourceEmits(Op::kRead, blobs, {}, {"2", "NULL", "NULL"});
  SourceEmits(Op::kRead, blobs, {}, {"3", "\\N", ""});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  batch_ = core::EventBatch();
  EXPECT_EQ(runner_.pieces.size(), 2u) << "one piece per batch";
  ASSERT_TRUE(writer_.Finish().ok());
  ASSERT_EQ(runner_.log.size(), 6u) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log[3], "DATA 1\ttab\\there\\\\N\t00FF5C\n2\t\\N\t\\N\n3\t\\\\N\t\n");
  EXPECT_EQ(runner_.log[5],
            "INSERT INTO `db`.`blobs` (`id`,`note`,`data`) VALUES (1,'tab\there\\N',X'00FF5C'),"
            "(2,NULL,NULL),(3,'\\N',X'') ON DUPLICATE KEY UPDATE `note`=VALUES(`note`),"
            "`data`=VALUES(`data`)");
}

// A large batch goes to the server in pieces of whole rows while it is rendered; a batch that
// fails mid-load aborts the load (its thread reads the writer's pieces), and so does Discard.
TEST_F(ChangeWriterTest, ALargeLoadIsHandedOverInPiecesAndAbortedWithItsBatch) {
  runner_.load_data = true;
  const std::string note(1000, 'x');
  for (int i = 0; i < 600; ++i) SourceEmits(Op::kRead, orders_, {}, {std::to_string(i), note});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  ASSERT_GE(runner_.pieces.size(), 2u);
  size_t rows = 0;
  for (const std::string& piece : runner_.pieces) {
    ASSERT_FALSE(piece.empty());
    EXPECT_EQ(piece.back(), '\n') << "a piece ends at a row boundary";
    rows += static_cast<size_t>(std::count(piece.begin(), piece.end(), '\n'));
  }
  EXPECT_EQ(rows, 600u);
  writer_.Discard();
  EXPECT_EQ(runner_.log.back(), "ABORT LOAD");

  // A value the target cannot hold, in a load started by the batch before: the batch fails and
  // the load ends.
  runner_.log.clear();
  batch_ = core::EventBatch();
  SourceEmits(Op::kRead, items_, {}, {"1", "2"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  batch_ = core::EventBatch();
  SourceEmits(Op::kRead, items_, {}, {"2", "not a number"});
  EXPECT_FALSE(writer_.Apply(batch_).ok());
  EXPECT_EQ(runner_.log.back(), "ABORT LOAD") << ::testing::PrintToString(runner_.log);
}

// A server with local_infile=OFF: one refused load, then INSERT for every table; a lost
// connection during a load is a retriable error, not a fallback.
TEST_F(ChangeWriterTest, ARefusedLoadFallsBackForGoodAndALostConnectionIsRetried) {
  runner_.load_data = true;
  runner_.SinkRejects([](const std::string& sql) { return sql.starts_with("LOAD "); }, 1148,
                      "The used command is not allowed with this MariaDB version");
  SourceEmits(Op::kRead, orders_, {}, {"1", "a"});
  SourceEmits(Op::kRead, items_, {}, {"7", "3"});
  ASSERT_TRUE(writer_.Apply(batch_).ok());
  int loads = 0;
  for (const std::string& sql : runner_.log) loads += sql.starts_with("LOAD ");
  EXPECT_EQ(loads, 1) << ::testing::PrintToString(runner_.log);
  EXPECT_EQ(runner_.log.back(), "INSERT INTO `db`.`items` (`id`,`qty`) VALUES (7,3) "
                                "ON DUPLICATE KEY UPDATE `qty`=VALUES(`qty`)");

  ChangeWriter fresh(runner_, plans_);
  runner_.SinkRejects([](const std::string& sql) { return sql.starts_with("LOAD "); }, 2013,
                      "Lost connection to server during query");
  core::Status s = fresh.Apply(batch_);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace sluice::sinks::mysql_sink
