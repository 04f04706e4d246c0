// The PostgreSQL sink's decisions that need no server: how change events group into multi-row
// statements, how snapshot rows are routed and staged, what a failure means for the replay
// (precise or as it is: deadlocks replay as they are), and the fast/precise mode switch.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinks/postgres/change_run.h"
#include "sinks/postgres/change_writer.h"
#include "sinks/postgres/pg_applier.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/postgres_types.h"
#include "sinks/postgres/snapshot_loader.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {
namespace {

using core::Op;

core::TableSchemaPtr Schema(bool keyed) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"shop", keyed ? "orders" : "log"};
  s->columns = {{.name = "id", .type = core::LogicalType::kInt64, .source_type = "bigint"},
                {.name = "note", .type = core::LogicalType::kString, .source_type = "text"}};
  if (keyed) s->key = {0};
  return s;
}

// A batch built like a source builds one: "u" in a cell is an unchanged (TOAST) value, "~" a
// NULL, anything else a present value.
class BatchBuilder {
 public:
  uint32_t Row(const std::vector<std::string>& cells) {
    uint32_t row = batch_.BeginRow();
    for (const std::string& c : cells) {
      if (c == "u") {
        batch_.AppendUnchanged();
      } else if (c == "~") {
        batch_.AppendNull();
      } else {
        batch_.AppendValue(c);
      }
    }
    batch_.EndRow();
    return row;
  }
  uint32_t Event(Op op, const core::TableSchemaPtr& table,
                 std::optional<std::vector<std::string>> before,
                 std::optional<std::vector<std::string>> after) {
    uint32_t b = before ? Row(*before) : core::kNoRow;
    uint32_t a = after ? Row(*after) : core::kNoRow;
    batch_.AddEvent({op, b, a, 0, table});
    return static_cast<uint32_t>(batch_.events().size() - 1);
  }
  const core::EventBatch& batch() const { return batch_; }
  ChangeRoute Route(uint32_t event) const { return RouteChange(batch_, batch_.events()[event]); }

 private:
  core::EventBatch batch_;
};

TEST(RouteChange, FullRowsOfKeyedTablesJoinUpsertAndDeleteRuns) {
  auto t = Schema(true);
  BatchBuilder b;
  auto insert = b.Event(Op::kCreate, t, std::nullopt, {{"1", "a"}});
  auto update = b.Event(Op::kUpdate, t, {{"1", "a"}}, {{"1", "b"}});
  auto update_no_before = b.Event(Op::kUpdate, t, std::nullopt, {{"1", "c"}});
  auto del = b.Event(Op::kDelete, t, {{"1", "c"}}, std::nullopt);
  EXPECT_EQ(b.Route(insert).kind, RunKind::kUpsert);
  EXPECT_EQ(b.Route(insert).row, b.batch().events()[insert].after);
  EXPECT_EQ(b.Route(update).kind, RunKind::kUpsert);
  EXPECT_EQ(b.Route(update_no_before).kind, RunKind::kUpsert);
  EXPECT_EQ(b.Route(del).kind, RunKind::kDelete);
  EXPECT_EQ(b.Route(del).row, b.batch().events()[del].before);
}

TEST(RouteChange, RowsThatNeedTheirOwnStatementCutTheRun) {
  auto t = Schema(true);
  BatchBuilder b;
  auto toast = b.Event(Op::kUpdate, t, {{"1", "a"}}, {{"1", "u"}});
  auto toast_insert = b.Event(Op::kCreate, t, std::nullopt, {{"1", "u"}});
  auto key_change = b.Event(Op::kUpdate, t, {{"1", "a"}}, {{"2", "a"}});
  auto null_to_value_key = b.Event(Op::kUpdate, t, {{"~", "a"}}, {{"", "a"}});
  auto truncate = b.Event(Op::kTruncate, t, std::nullopt, std::nullopt);
  auto read = b.Event(Op::kRead, t, std::nullopt, {{"1", "a"}});
  auto rowless_insert = b.Event(Op::kCreate, t, std::nullopt, std::nullopt);
  auto rowless_delete = b.Event(Op::kDelete, t, std::nullopt, std::nullopt);
  for (uint32_t e : {toast, toast_insert, key_change, null_to_value_key, truncate, read,
                     rowless_insert, rowless_delete}) {
    EXPECT_EQ(b.Route(e).kind, RunKind::kNone) << "event " << e;
  }
}

TEST(RouteChange, KeylessTablesAppendInsertsAndChangeOneRowAtATime) {
  auto t = Schema(false);
  BatchBuilder b;
  auto insert = b.Event(Op::kCreate, t, std::nullopt, {{"1", "a"}});
  auto update = b.Event(Op::kUpdate, t, {{"1", "a"}}, {{"1", "b"}});
  auto del = b.Event(Op::kDelete, t, {{"1", "b"}}, std::nullopt);
  EXPECT_EQ(b.Route(insert).kind, RunKind::kAppend);
  EXPECT_EQ(b.Route(update).kind, RunKind::kNone);
  EXPECT_EQ(b.Route(del).kind, RunKind::kNone);
}

// The state the catalog loads for `schema`: every column plain text.
TableState StateOf(const core::TableSchemaPtr& schema) {
  TableState t;
  t.schema = schema;
  for (uint32_t c = 0; c < schema->columns.size(); ++c) {
    t.kinds.push_back(ValueKind::kPlain);
    t.delimiters.push_back(',');
    t.all_columns.push_back(c);
  }
  return t;
}

// The run's parameters, row by row ("~" for NULL).
std::vector<std::string> Params(const ChangeRun& run) {
  std::vector<const char*> values;
  run.Params(0, run.size(), values);
  std::vector<std::string> out;
  const size_t width = run.columns().size();
  for (size_t r = 0; r < run.size(); ++r) {
    std::string row;
    for (size_t c = 0; c < width; ++c) {
      const char* v = values[r * width + c];
      row += (c > 0 ? "|" : "") + std::string(v == nullptr ? "~" : v);
    }
    out.push_back(row);
  }
  return out;
}

ChangeRun::Added Add(ChangeRun& run, const core::EventBatch& batch, uint32_t event, uint32_t row,
                     uint64_t seq = 1) {
  auto added = run.Add(batch, event, row, seq);
  EXPECT_TRUE(added.ok()) << added.status().ToString();
  return added.ok() ? *added : ChangeRun::Added::kCollision;
}

TEST(ChangeRun, SameKeyCoalescesToTheLastFullRow) {
  auto schema = Schema(true);
  TableState t = StateOf(schema);
  BatchBuilder b;
  auto first = b.Event(Op::kCreate, schema, std::nullopt, {{"1", "a"}});
  auto other = b.Event(Op::kCreate, schema, std::nullopt, {{"2", "x"}});
  auto again = b.Event(Op::kUpdate, schema, {{"1", "a"}}, {{"1", "b"}});
  const auto& events = b.batch().events();
  ChangeRun run;
  run.Start(&t, RunKind::kUpsert);
  EXPECT_TRUE(run.Holds(&t, RunKind::kUpsert));
  EXPECT_FALSE(run.Holds(&t, RunKind::kDelete));
  EXPECT_EQ(Add(run, b.batch(), first, events[first].after), ChangeRun::Added::kAdded);
  EXPECT_EQ(Add(run, b.batch(), other, events[other].after), ChangeRun::Added::kAdded);
  EXPECT_EQ(Add(run, b.batch(), again, events[again].after, 2), ChangeRun::Added::kCoalesced);
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run.rows()[0].event, again);  // in the first row's place: order of keys kept
  EXPECT_EQ(run.rows()[0].batch_seq, 2u);
  EXPECT_EQ(run.rows()[1].event, other);
  EXPECT_EQ(Params(run), (std::vector<std::string>{"1|b", "2|x"}));
  run.Clear();
  EXPECT_TRUE(run.empty());
  EXPECT_EQ(run.table(), nullptr);
}

TEST(ChangeRun, ASecondDeleteOfAKeyAddsNothingAndKeylessAppendsNeverCoalesce) {
  auto keyed = Schema(true);
  auto keyless = Schema(false);
  TableState t = StateOf(keyed);
  TableState log = StateOf(keyless);
  BatchBuilder b;
  auto d1 = b.Event(Op::kDelete, keyed, {{"1", "a"}}, std::nullopt);
  auto d2 = b.Event(Op::kDelete, keyed, {{"1", "z"}}, std::nullopt);
  auto a1 = b.Event(Op::kCreate, keyless, std::nullopt, {{"1", "a"}});
  auto a2 = b.Event(Op::kCreate, keyless, std::nullopt, {{"1", "a"}});
  const auto& events = b.batch().events();
  ChangeRun run;
  run.Start(&t, RunKind::kDelete);
  EXPECT_EQ(Add(run, b.batch(), d1, events[d1].before), ChangeRun::Added::kAdded);
  EXPECT_EQ(Add(run, b.batch(), d2, events[d2].before), ChangeRun::Added::kCoalesced);
  ASSERT_EQ(run.size(), 1u);
  EXPECT_EQ(run.rows()[0].event, d1);
  EXPECT_EQ(Params(run), (std::vector<std::string>{"1"}));  // a delete carries the key only
  run.Start(&log, RunKind::kAppend);
  EXPECT_EQ(Add(run, b.batch(), a1, events[a1].after), ChangeRun::Added::kAdded);
  EXPECT_EQ(Add(run, b.batch(), a2, events[a2].after), ChangeRun::Added::kAdded);
  EXPECT_EQ(run.size(), 2u);
}

// A run owns its values: it stays open while the batches it came from are gone (the run of a
// target transaction spans the source's batches), and a hot key coalesces across them.
TEST(ChangeRun, HoldsItsValuesAcrossBatchesAndCoalescesAHotKeyOverThem) {
  auto schema = Schema(true);
  TableState t = StateOf(schema);
  ChangeRun run;
  run.Start(&t, RunKind::kUpsert);
  for (int batch = 0; batch < 3; ++batch) {
    auto b = std::make_unique<BatchBuilder>();
    auto hot = b->Event(Op::kUpdate, schema, std::nullopt, {{"7", "v" + std::to_string(batch)}});
    auto cold = b->Event(Op::kCreate, schema, std::nullopt, {{std::to_string(100 + batch), "~"}});
    Add(run, b->batch(), hot, b->batch().events()[hot].after, batch);
    Add(run, b->batch(), cold, b->batch().events()[cold].after, batch);
  }  // each batch is freed here
  EXPECT_EQ(Params(run), (std::vector<std::string>{"7|v2", "100|~", "101|~", "102|~"}));
  EXPECT_EQ(run.rows()[0].batch_seq, 2u);
  EXPECT_EQ(run.full_rows(), 256u);
}

TEST(ChangeRun, AValueTheTargetCannotTakeIsNamedAndLeavesTheRunAsItWas) {
  auto schema = Schema(true);
  TableState t = StateOf(schema);
  t.kinds[1] = ValueKind::kArray;
  BatchBuilder b;
  auto good = b.Event(Op::kCreate, schema, std::nullopt, {{"1", "[1,2]"}});
  auto bad = b.Event(Op::kCreate, schema, std::nullopt, {{"2", "not json"}});
  ChangeRun run;
  run.Start(&t, RunKind::kUpsert);
  Add(run, b.batch(), good, b.batch().events()[good].after);
  auto added = run.Add(b.batch(), bad, b.batch().events()[bad].after, 1);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.status().message().find("key (id=2)"), std::string::npos)
      << added.status().message();
  EXPECT_EQ(Params(run), (std::vector<std::string>{"1|{1,2}"}));
}

TEST(StatementRows, FewShapesWithinTheParameterLimit) {
  EXPECT_EQ(MaxRowsPerStatement(2), 256u);
  EXPECT_EQ(MaxRowsPerStatement(0), 256u);
  EXPECT_EQ(MaxRowsPerStatement(1000), 65u);   // 65535 parameters at most
  EXPECT_EQ(MaxRowsPerStatement(70000), 1u);
  EXPECT_EQ(StatementRows(1000, 256), 256u);
  EXPECT_EQ(StatementRows(255, 256), 64u);
  EXPECT_EQ(StatementRows(63, 256), 16u);
  EXPECT_EQ(StatementRows(15, 256), 4u);
  EXPECT_EQ(StatementRows(3, 256), 1u);
  EXPECT_EQ(StatementRows(100, 65), 65u);
  EXPECT_EQ(StatementRows(64, 65), 64u);
  EXPECT_EQ(StatementRows(5, 1), 1u);
}

TEST(RouteSnapshotRows, StreamUnlessPreciseOrStaged) {
  EXPECT_EQ(RouteSnapshotRows(false, true, false), SnapshotRoute::kStream);
  EXPECT_EQ(RouteSnapshotRows(false, false, false), SnapshotRoute::kStream);
  EXPECT_EQ(RouteSnapshotRows(false, true, true), SnapshotRoute::kStaged);
  EXPECT_EQ(RouteSnapshotRows(true, true, true), SnapshotRoute::kStaged);
  EXPECT_EQ(RouteSnapshotRows(true, true, false), SnapshotRoute::kCopyInSavepoint);
  // A keyless table has no replay-safe path: it is never staged.
  EXPECT_EQ(RouteSnapshotRows(false, false, true), SnapshotRoute::kStream);
  EXPECT_EQ(RouteSnapshotRows(true, false, true), SnapshotRoute::kCopy);
}

TEST(ClassifyCopyFailure, UniqueViolationStagesOtherRejectionsReplayPrecise) {
  // unavailable, retriable, unique violation, has key
  EXPECT_EQ(ClassifyCopyFailure(false, false, true, true), CopyFailure::kStage);
  EXPECT_EQ(ClassifyCopyFailure(false, false, true, false), CopyFailure::kPrecise);
  EXPECT_EQ(ClassifyCopyFailure(false, false, false, true), CopyFailure::kPrecise);
  EXPECT_EQ(ClassifyCopyFailure(false, true, false, true), CopyFailure::kAsIs);  // deadlock
  EXPECT_EQ(ClassifyCopyFailure(true, true, false, true), CopyFailure::kAsIs);   // connection
  EXPECT_EQ(ClassifyCopyFailure(true, false, true, true), CopyFailure::kAsIs);
}

TEST(StagedTables, BackToCopyOnlyAfterACommitOfAllNewChunks) {
  const core::TableId a{"s", "a"};
  const core::TableId b{"s", "b"};
  StagedTables staged;
  staged.Stage(a);
  staged.Stage(b);
  staged.ChunkUpserted(a, 10, 10);  // every row new
  staged.ChunkUpserted(b, 3, 10);   // some were there
  EXPECT_TRUE(staged.staged(a));    // not before the commit
  staged.Committed();
  EXPECT_FALSE(staged.staged(a));
  EXPECT_TRUE(staged.staged(b));
  // A later chunk that repeats rows cancels the way back.
  staged.ChunkUpserted(b, 10, 10);
  staged.ChunkUpserted(b, 9, 10);
  staged.Committed();
  EXPECT_TRUE(staged.staged(b));
  // A lost session keeps the staging (the replay needs it) but forgets the way back.
  staged.ChunkUpserted(b, 10, 10);
  staged.SessionLost();
  staged.Committed();
  EXPECT_TRUE(staged.staged(b));
}

TEST(FailureNeedsPreciseReplay, OnlyUnnamedRowsThatAreNotRetriable) {
  // kind, for an event, named, retriable
  EXPECT_TRUE(FailureNeedsPreciseReplay(PendingKind::kExecMany, true, true, false));
  EXPECT_TRUE(FailureNeedsPreciseReplay(PendingKind::kExec, true, false, false));
  EXPECT_FALSE(FailureNeedsPreciseReplay(PendingKind::kExec, true, true, false));   // named
  EXPECT_FALSE(FailureNeedsPreciseReplay(PendingKind::kExec, false, false, false)); // COMMIT
  EXPECT_FALSE(FailureNeedsPreciseReplay(PendingKind::kPrepare, true, false, false));
  // Deadlock or serialization failure: the replay runs as it is.
  EXPECT_FALSE(FailureNeedsPreciseReplay(PendingKind::kExecMany, true, false, true));
  EXPECT_FALSE(FailureNeedsPreciseReplay(PendingKind::kExec, true, false, true));
}

TEST(ApplyMode, PreciseAfterAnUnnamedFailureUntilTheNextCommit) {
  ApplyMode mode;
  EXPECT_FALSE(mode.precise());
  mode.AfterFailure(false);  // e.g. a deadlock: replay fast
  EXPECT_FALSE(mode.precise());
  mode.AfterFailure(true);
  EXPECT_TRUE(mode.precise());
  mode.AfterFailure(false);  // a later failure of the replay keeps it precise
  EXPECT_TRUE(mode.precise());
  mode.AfterCommit();
  EXPECT_FALSE(mode.precise());
}

TEST(SwitchTo, ACopyAndThePipelineAreNeverOpenTogetherAndDdlMeetsNeither) {
  for (bool deferred : {false, true}) {
    RoleSwitch commit = SwitchTo(Role::kCommit, deferred);
    EXPECT_TRUE(commit.send_runs);  // the position and COMMIT follow every change
    EXPECT_TRUE(commit.end_copy);
    EXPECT_FALSE(commit.exit_pipeline);  // COMMIT follows the statements in the pipeline
    EXPECT_FALSE(commit.build_deferred_keys);
    RoleSwitch catalog = SwitchTo(Role::kCatalog, deferred);
    EXPECT_TRUE(catalog.send_runs);  // DDL may replace the table state a run points at
    EXPECT_TRUE(catalog.end_copy);
    EXPECT_TRUE(catalog.exit_pipeline);
    EXPECT_FALSE(catalog.build_deferred_keys);
    RoleSwitch loader = SwitchTo(Role::kLoader, deferred);
    EXPECT_TRUE(loader.send_runs);  // snapshot rows of a table follow its changes
    EXPECT_FALSE(loader.end_copy);  // its own streaming COPY stays open across batches
    EXPECT_TRUE(loader.exit_pipeline);
    EXPECT_FALSE(loader.build_deferred_keys);
    RoleSwitch writer = SwitchTo(Role::kWriter, deferred);
    EXPECT_FALSE(writer.send_runs);  // runs stay open across the transaction's batches
    EXPECT_TRUE(writer.end_copy);
    EXPECT_FALSE(writer.exit_pipeline);  // changes go into the pipeline
    EXPECT_EQ(writer.build_deferred_keys, deferred);  // changes go by key
  }
}

TEST(PgSession, APreciseReplayRequestIsTakenOnce) {
  PgSession session;
  EXPECT_FALSE(session.TakePreciseReplayRequest());
  session.RequestPreciseReplay();
  EXPECT_TRUE(session.TakePreciseReplayRequest());
  EXPECT_FALSE(session.TakePreciseReplayRequest());
  EXPECT_FALSE(session.connected());
  EXPECT_FALSE(session.in_transaction());
}

TEST(DescribeEvent, NamesTheTableAndTheKey) {
  auto t = Schema(true);
  auto log = Schema(false);
  BatchBuilder b;
  auto e = b.Event(Op::kDelete, t, {{"42", "a"}}, std::nullopt);
  auto n = b.Event(Op::kCreate, t, std::nullopt, {{"~", "a"}});
  auto k = b.Event(Op::kCreate, log, std::nullopt, {{"1", "a"}});
  auto long_key = b.Event(Op::kCreate, t, std::nullopt, {{std::string(100, 'x'), "a"}});
  EXPECT_EQ(DescribeEvent(b.batch(), e), "table shop.orders, key (id=42)");
  EXPECT_EQ(DescribeEvent(b.batch(), n), "table shop.orders, key (id=NULL)");
  EXPECT_EQ(DescribeEvent(b.batch(), k), "table shop.log");
  EXPECT_EQ(DescribeEvent(b.batch(), long_key),
            "table shop.orders, key (id=" + std::string(64, 'x') + ")");
  EXPECT_EQ(DescribeEvent(b.batch(), 99), "batch");
}

TEST(DeferKeyOfNewTable, OnlyForASnapshotsKeyedTableFromAOnceOnlySource) {
  EXPECT_TRUE(DeferKeyOfNewTable(true, true, true));
  EXPECT_FALSE(DeferKeyOfNewTable(false, true, true));  // first seen in a change
  EXPECT_FALSE(DeferKeyOfNewTable(true, false, true));  // source may repeat snapshot rows
  EXPECT_FALSE(DeferKeyOfNewTable(true, true, false));  // nothing to build
}

}  // namespace
}  // namespace sluice::sinks::pgsink
