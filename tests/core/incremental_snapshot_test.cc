#include "core/incremental_snapshot.h"
#include "core/incremental_poll.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace sluice::core {
namespace {

IncrementalSnapshots::Checker AcceptAll() {
  return [](const std::string& table, const std::string&) -> Result<IncrementalTableInfo> {
    if (table == "public.nokey") return InvalidArgumentError("table public.nokey has no primary key");
    return IncrementalTableInfo{table, 100};
  };
}

TEST(IncrementalSnapshotRequestTest, ParsesTablesAndFilters) {
  auto r = ParseIncrementalSnapshotRequest(
      R"({"tables": ["public.a", "public.b"], "filter": {"public.b": "id > 5"}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tables, (std::vector<std::string>{"public.a", "public.b"}));
  EXPECT_EQ(r->filters.size(), 1u);
  EXPECT_EQ(r->filters.at("public.b"), "id > 5");
  auto one = ParseIncrementalSnapshotRequest(R"({"tables": ["public.a"], "filter": "x = 1"})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->filters.at("public.a"), "x = 1");
}

TEST(IncrementalSnapshotRequestTest, AcceptsDebeziumSignalData) {
  auto r = ParseIncrementalSnapshotRequest(
      R"({"data-collections": ["public.a"], "type": "incremental",
          "additional-conditions": [{"data-collection": "public.a", "filter": "id < 10"}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->filters.at("public.a"), "id < 10");
}

TEST(IncrementalSnapshotRequestTest, RefusesBadBodies) {
  for (const char* body : {"", "[]", "{}", R"({"tables": []})", R"({"tables": [1]})",
                           R"({"tables": ["a", "a"]})", R"({"tables": ["a"], "filter": 3})",
                           R"({"tables": ["a"], "filter": {"b": "x"}})",
                           R"({"tables": ["a"], "tabels": 1})",
                           R"({"tables": ["a"], "type": "blocking"})"}) {
    auto r = ParseIncrementalSnapshotRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(IncrementalSnapshotsTest, QueuesRunsAndFinishesInOrder) {
  IncrementalSnapshots s(AcceptAll());
  ASSERT_TRUE(s.Request({{"public.a", "public.b"}, {}}).ok());
  EXPECT_TRUE(s.Active());
  auto t = s.Next();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->table, "public.a");
  EXPECT_TRUE(t->last_key.empty());
  s.ChunkHandedOver(*t, {std::string("10")}, 10, false);
  auto again = s.Next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->table, "public.a");
  ASSERT_EQ(again->last_key.size(), 1u);
  EXPECT_EQ(*again->last_key[0], "10");
  s.ChunkHandedOver(*again, {std::string("15")}, 5, true);
  auto b = s.Next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->table, "public.b");
  s.ChunkHandedOver(*b, {}, 0, true);
  EXPECT_FALSE(s.Next());
  EXPECT_FALSE(s.Active());
  auto progress = s.Progress();
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].table, "public.a");
  EXPECT_EQ(progress[0].state, "DONE");
  EXPECT_EQ(progress[0].rows, 15u);
  EXPECT_EQ(progress[0].chunks, 2u);
  EXPECT_EQ(s.StateJson(), "");
}

TEST(IncrementalSnapshotsTest, CheckerRefusalQueuesNothing) {
  IncrementalSnapshots s(AcceptAll());
  Status st = s.Request({{"public.a", "public.nokey"}, {}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(s.Active());
  EXPECT_TRUE(s.Progress().empty());
}

TEST(IncrementalSnapshotsTest, RefusesATableAlreadyRunningAndCancels) {
  IncrementalSnapshots s(AcceptAll());
  ASSERT_TRUE(s.Request({{"public.a"}, {}}).ok());
  EXPECT_EQ(s.Request({{"public.a"}, {}}).code(), StatusCode::kAlreadyExists);
  auto t = s.Next();
  ASSERT_TRUE(t);
  ASSERT_TRUE(s.Cancel("public.a").ok());
  EXPECT_FALSE(s.Wanted(*t));
  s.ChunkHandedOver(*t, {std::string("1")}, 1, false);  // a cancelled task's chunk counts nothing
  EXPECT_EQ(s.Progress()[0].state, "CANCELLED");
  EXPECT_EQ(s.Progress()[0].rows, 0u);
  EXPECT_EQ(s.Cancel("public.a").code(), StatusCode::kNotFound);
  // Requested again: starts from the beginning.
  ASSERT_TRUE(s.Request({{"public.a"}, {}}).ok());
  auto fresh = s.Next();
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->last_key.empty());
  EXPECT_NE(fresh->id, t->id);
}

TEST(IncrementalSnapshotsTest, StateRoundTripsThroughThePosition) {
  IncrementalSnapshots s(AcceptAll());
  ASSERT_TRUE(s.Request({{"public.a", "public.b"}, {{"public.b", "id > 'x'"}}}).ok());
  auto t = s.Next();
  s.ChunkHandedOver(*t, {std::string("7"), std::string("it's")}, 7, false);
  std::string state = s.StateJson();
  ASSERT_FALSE(state.empty());

  IncrementalSnapshots restored(AcceptAll());
  ASSERT_TRUE(restored.Restore(state).ok());
  auto progress = restored.Progress();
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].state, "RUNNING");
  EXPECT_EQ(progress[0].rows, 7u);
  EXPECT_EQ(progress[1].state, "PENDING");
  EXPECT_EQ(progress[1].filter, "id > 'x'");
  auto r = restored.Next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->table, "public.a");
  ASSERT_EQ(r->last_key.size(), 2u);
  EXPECT_EQ(*r->last_key[1], "it's");
  EXPECT_EQ(restored.Restore("{").code(), StatusCode::kInvalidArgument);
}

// A source's method (MySQL: "exact" or "window") and the rows its de-duplication left out are
// kept in the progress and survive a restart through the position.
TEST(IncrementalSnapshotsTest, ConsistencyAndDroppedRowsAreKept) {
  IncrementalSnapshots s([](const std::string& table, const std::string&) {
    return Result<IncrementalTableInfo>(IncrementalTableInfo{table, 100, "window"});
  });
  ASSERT_TRUE(s.Request({{"db.a"}, {}}).ok());
  auto t = s.Next();
  s.ChunkHandedOver(*t, {std::string("10")}, 7, false, 3);
  s.ChunkHandedOver(*t, {std::string("20")}, 9, false, 1);
  EXPECT_EQ(s.Progress()[0].consistency, "window");
  EXPECT_EQ(s.Progress()[0].rows, 16u);
  EXPECT_EQ(s.Progress()[0].dropped_rows, 4u);
  IncrementalSnapshots restored(AcceptAll());
  ASSERT_TRUE(restored.Restore(s.StateJson()).ok());
  EXPECT_EQ(restored.Progress()[0].consistency, "window");
  EXPECT_EQ(restored.Progress()[0].dropped_rows, 4u);
}

TEST(IncrementalSnapshotsTest, FailedTableStopsAndSaysWhy) {
  IncrementalSnapshots s(AcceptAll());
  ASSERT_TRUE(s.Request({{"public.a"}, {}}).ok());
  auto t = s.Next();
  s.Fail(*t, "the table no longer exists");
  EXPECT_FALSE(s.Active());
  EXPECT_EQ(s.Progress()[0].state, "FAILED");
  EXPECT_EQ(s.Progress()[0].error, "the table no longer exists");
}

TEST(IncrementalSnapshotsTest, EtaFromTheRateSoFar) {
  IncrementalTableProgress p;
  p.state = "RUNNING";
  p.started_unix_ms = 1000;
  p.rows = 100;
  p.estimated_rows = 300;
  EXPECT_EQ(p.EtaMs(2000), 2000);
  p.rows = 0;
  EXPECT_EQ(p.EtaMs(2000), -1);
}

TEST(IncrementalPositionFieldTest, CarriesProgressAndFilterAcrossARestart) {
  const std::vector<std::string> keys = {"table.include.list", "table.exclude.list"};
  ConnectorConfig config("c", {{"table.include.list", "db\\.a"}, {"other", "x"}});
  IncrementalSnapshots s(AcceptAll());
  ASSERT_TRUE(s.Request({{"db.a"}, {}}).ok());
  auto t = s.Next();
  s.ChunkHandedOver(*t, {std::string("42")}, 42, false);
  const std::string field = IncrementalPositionField(s, config, keys);
  auto logger = std::make_shared<spdlog::logger>("test");  // no sinks: silent

  IncrementalSnapshots restored(AcceptAll());
  ASSERT_TRUE(RestoreIncrementalPositionField(restored, field, "mysql", *logger).ok());
  auto progress = restored.Progress();
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].rows, 42u);
  EXPECT_EQ(*progress[0].last_key.at(0), "42");
  EXPECT_TRUE(RestoreIncrementalPositionField(restored, "", "mysql", *logger).ok());
  Status bad = RestoreIncrementalPositionField(restored, "[1]", "mysql", *logger);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("mysql position"), std::string::npos) << bad.message();

  // The same filter: nothing new. A wider one: the stored values come back for comparison.
  EXPECT_FALSE(IncrementalFilterBefore(field, config, keys));
  ConnectorConfig wider("c", {{"table.include.list", "db\\.a,db\\.b"}});
  auto before = IncrementalFilterBefore(field, wider, keys);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->at("table.include.list"), "db\\.a");
  EXPECT_EQ(before->count("table.exclude.list"), 0u);
  // A position without a filter (older): unknown, so nothing is requested.
  EXPECT_FALSE(IncrementalFilterBefore("", wider, keys));
  EXPECT_FALSE(IncrementalFilterBefore(R"({"tables": []})", wider, keys));
}

TEST(AppendChunkRowsTest, AppendsReadEventsInOneSnapshotTransaction) {
  auto schema = std::make_shared<TableSchema>();
  schema->id = {"db", "t"};
  schema->columns = {Column{.name = "id"}, Column{.name = "v"}};
  schema->key = {0};
  EventBatch rows;
  rows.BeginRow();
  rows.AppendValue("1");
  rows.AppendNull();
  rows.EndRow();
  rows.BeginRow();
  rows.AppendValue("2");
  rows.AppendValue("b");
  rows.EndRow();
  EventBatch batch;
  TxnInfo info;
  info.snapshot = true;
  info.file = "bin.000002";
  info.pos = 77;
  AppendChunkRows(batch, rows, schema, info);
  ASSERT_EQ(batch.size(), 2u);
  const ChangeEvent& second = batch.events()[1];
  EXPECT_EQ(second.op, Op::kRead);
  EXPECT_EQ(second.before, kNoRow);
  EXPECT_EQ(second.table, schema);
  EXPECT_EQ(batch.txn(second.txn).pos, 77u);
  EXPECT_TRUE(batch.txn(second.txn).snapshot);
  EXPECT_FALSE(batch.row(batch.events()[0].after).is_present(1));
  EXPECT_EQ(batch.row(second.after).text(1), "b");
}

// The next chunk waits while more than a chunk's worth of events is queued for the sink, but
// never longer than kMaxDefer: a saturated stream does not starve the snapshot.
TEST(ChunkPacerTest, DefersWhileTheSinkIsBehindButNeverLongerThanMaxDefer) {
  using namespace std::chrono_literals;
  ManualClock clock;
  ChunkPacer pacer(1024, &clock);
  EXPECT_TRUE(pacer.ReadNow(0));
  EXPECT_TRUE(pacer.ReadNow(1024)) << "one chunk queued: the next may be read";
  EXPECT_FALSE(pacer.ReadNow(1025));
  clock.Advance(ChunkPacer::kMaxDefer - 1ms);
  EXPECT_FALSE(pacer.ReadNow(50000));
  clock.Advance(1ms);
  EXPECT_TRUE(pacer.ReadNow(50000)) << "deferred for kMaxDefer: read anyway";
  // The wait starts again from the next deferral.
  EXPECT_FALSE(pacer.ReadNow(50000));
  clock.Advance(100ms);
  EXPECT_TRUE(pacer.ReadNow(10)) << "the sink caught up";
  EXPECT_FALSE(pacer.ReadNow(5000));
  clock.Advance(ChunkPacer::kMaxDefer - 1ms);
  EXPECT_FALSE(pacer.ReadNow(5000)) << "a catch-up restarts the wait";
}

TEST(ChunkPacerTest, ReadsAheadOnlyWhileTheSinkHasAtMostAChunkWaiting) {
  ManualClock clock;
  ChunkPacer pacer(1024, &clock);
  EXPECT_TRUE(pacer.ReadAheadNow(0));
  EXPECT_TRUE(pacer.ReadAheadNow(1024));
  EXPECT_FALSE(pacer.ReadAheadNow(1025));
  clock.Advance(ChunkPacer::kMaxDefer * 10);
  EXPECT_FALSE(pacer.ReadAheadNow(5000)) << "never forced: a held chunk keeps the snapshot going";
}

TEST(ChunkTimingsTest, SummarySaysWhereTheTimeWent) {
  using namespace std::chrono_literals;
  ChunkTimings t;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1s;
  t.ReadStarts(t0);  // no hand-over yet: nothing between chunks
  t.chunks = 2;
  t.rereads = 1;
  t.read = 10ms;
  t.placement = 4ms;
  t.handed_at = t0 + 14ms;
  t.ReadStarts(t0 + 20ms);
  EXPECT_EQ(t.Summary(),
            "2 chunks, read 10 ms (5.00 ms each), placement wait 4 ms (2.00 ms each), between "
            "chunks 6 ms (3.00 ms each), 1 read again");
  EXPECT_FALSE(t.handed_at.has_value());
  t.Reset();
  EXPECT_EQ(t.chunks, 0u);
}

// PollWithIncremental, on scripted stand-ins for a source's stream and incremental snapshots.
struct ScriptedStream {
  Result<PollStatus> result = PollStatus::kIdle;
  std::vector<std::chrono::milliseconds> waits;  // max_wait of each Poll
  Result<PollStatus> Poll(EventBatch& /*batch*/, const PollLimits& limits) {
    waits.push_back(limits.max_wait);
    return result;
  }
};

struct ScriptedIncremental {
  bool held = false;
  bool busy = true;
  Result<bool> prepare_result = false;
  bool after_poll_appends = false;
  int prepares = 0, reads_allowed = 0, after_polls = 0, poll_failures = 0;
  bool read_ahead = false;
  bool holding() const { return held; }
  bool can_read_ahead() const { return read_ahead; }
  bool Busy() const { return busy; }
  Result<bool> Prepare(ScriptedStream& /*stream*/, EventBatch& /*batch*/, bool may_read) {
    ++prepares;
    if (may_read) ++reads_allowed;
    return prepare_result;
  }
  bool AfterPoll(ScriptedStream& /*stream*/, EventBatch& /*batch*/) {
    ++after_polls;
    return after_poll_appends;
  }
  void PollFailed() { ++poll_failures; }
};

TEST(PollWithIncrementalTest, AChunkHandedOverBeforePollingEndsThePollWithoutPolling) {
  using namespace std::chrono_literals;
  ScriptedIncremental inc;
  inc.prepare_result = true;
  ScriptedStream stream;
  ManualClock clock;
  ChunkPacer pacer(1024, &clock);
  EventBatch batch;
  std::atomic<bool> stop{false};
  auto r = PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, PollStatus::kHaveMore);
  EXPECT_TRUE(stream.waits.empty());
  EXPECT_EQ(inc.after_polls, 1) << "AfterPoll records what was handed over";
}

TEST(PollWithIncrementalTest, AHeldOrDeferredChunkBoundsTheStreamWait) {
  using namespace std::chrono_literals;
  ManualClock clock;
  ChunkPacer pacer(1024, &clock);
  EventBatch batch;
  std::atomic<bool> stop{false};
  PollLimits limits;
  limits.max_wait = 200ms;
  {
    ScriptedIncremental inc;
    inc.held = true;
    ScriptedStream stream;
    ASSERT_TRUE(PollWithIncremental(inc, pacer, stream, batch, limits, stop).ok());
    ASSERT_EQ(stream.waits.size(), 1u);
    EXPECT_EQ(stream.waits[0], kHeldChunkWait);
    EXPECT_EQ(inc.prepares, 1) << "a held chunk is still offered to Prepare";
    EXPECT_EQ(inc.reads_allowed, 1) << "the sink caught up: the next chunk may be read ahead";
  }
  {
    ScriptedIncremental inc;  // a chunk held, room for the next: the stream is not waited for
    inc.held = true;
    inc.read_ahead = true;
    ScriptedStream stream;
    limits.sink_backlog_events = 0;
    ASSERT_TRUE(PollWithIncremental(inc, pacer, stream, batch, limits, stop).ok());
    EXPECT_EQ(stream.waits.at(0), 0ms) << "the next Poll reads ahead while the keepalive comes";
  }
  {
    ScriptedIncremental inc;  // a chunk held, the sink 5000 events behind: no read ahead
    inc.held = true;
    inc.read_ahead = true;
    ScriptedStream stream;
    limits.sink_backlog_events = 5000;
    ASSERT_TRUE(PollWithIncremental(inc, pacer, stream, batch, limits, stop).ok());
    EXPECT_EQ(inc.prepares, 1);
    EXPECT_EQ(inc.reads_allowed, 0);
    EXPECT_EQ(stream.waits.at(0), kHeldChunkWait);
  }
  {
    ScriptedIncremental inc;  // nothing held, the sink 5000 events behind: the chunk waits
    ScriptedStream stream;
    limits.sink_backlog_events = 5000;
    ASSERT_TRUE(PollWithIncremental(inc, pacer, stream, batch, limits, stop).ok());
    EXPECT_EQ(inc.reads_allowed, 0);
    ASSERT_EQ(stream.waits.size(), 1u);
    EXPECT_EQ(stream.waits[0], kDeferredChunkWait) << "the sink takes a chunk in milliseconds";
  }
  {
    ScriptedIncremental inc;  // nothing held, the sink caught up, no chunk to hold: full wait
    ScriptedStream stream;
    limits.sink_backlog_events = 0;
    ASSERT_TRUE(PollWithIncremental(inc, pacer, stream, batch, limits, stop).ok());
    EXPECT_EQ(inc.reads_allowed, 1);
    EXPECT_EQ(stream.waits.at(0), 200ms);
  }
}

TEST(PollWithIncrementalTest, IdleStreamWithSnapshotsQueuedAsksForMoreAndFailuresAreReported) {
  ManualClock clock;
  ChunkPacer pacer(1024, &clock);
  EventBatch batch;
  std::atomic<bool> stop{false};
  ScriptedIncremental inc;
  ScriptedStream stream;
  auto idle = PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop);
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(*idle, PollStatus::kHaveMore) << "snapshots queued: poll again at once";
  inc.busy = false;
  idle = PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop);
  EXPECT_EQ(*idle, PollStatus::kIdle);

  stream.result = UnavailableError("connection lost");
  auto failed = PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop);
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inc.poll_failures, 1) << "a chunk the failed batch carried is read again";
  stop = true;
  auto stopping = PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop);
  ASSERT_TRUE(stopping.ok()) << "a failure while stopping is not reported";
  EXPECT_EQ(*stopping, PollStatus::kIdle);
  inc.prepare_result = UnavailableError("chunk connection lost");
  stop = false;
  EXPECT_EQ(PollWithIncremental(inc, pacer, stream, batch, PollLimits{}, stop).status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::core
