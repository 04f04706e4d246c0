// The MySQL/MariaDB source's phases (source_phases.h) without a server: the start decision with
// the stored position's binlog file looked up, the snapshot's rows, the switch to streaming at
// the snapshot's binlog position (file, pos and GTID state), initial_only's finish, restarts from
// a committed position and from mid-snapshot, never/no_data, purged binlogs, failed reads and
// stop. Start decisions come from the real DecideStart; the stream is a real StreamReader
// replaying the binlog MariaDB 10.11 wrote for stream_fixture.sql (tests/testdata/binlog/
// stream.binlog) through FakeBinlogStream; the snapshot's rows are scripted, checkpointed as
// SnapshotReader checkpoints them ("snapshot running" at the snapshot's position).
#include "connectors/mysql/source_phases.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "connectors/mysql/stream_reader.h"
#include "tests/common/render_events.h"
#include "tests/common/schema_builders.h"
#include "tests/connectors/mysql/fake_binlog_stream.h"

namespace sluice::mysql {
namespace {

using core::PollStatus;
using core::SnapshotMode;
using testing::FakeBinlogCatalog;
using testing::FakeBinlogServer;
using testing::FakeBinlogStream;
using testing::FakeTable;

constexpr uint8_t kGtid = 162;  // MariaDB GTID_EVENT
constexpr uint8_t kXid = 16;
constexpr int kHeartbeatMs = 1000;

// The events of a batch as text: "r shop.customers (1,ann)", "d shop.customers (2,bob)->",
// "t shop.orders".
std::vector<std::string> Rendered(const core::EventBatch& batch) {
  return sluice::testing::RenderEvents(batch);
}

std::optional<BinlogPosition> Checkpoint(const core::EventBatch& batch) {
  if (batch.checkpoint().empty()) return std::nullopt;
  auto p = BinlogPosition::Parse(batch.checkpoint().value);
  EXPECT_TRUE(p.ok()) << batch.checkpoint().value;
  if (!p.ok()) return std::nullopt;
  return *p;
}

// Scripted snapshot rows of shop.customers: one chunk per Next(), true after the last chunk.
// Like SnapshotReader, each batch is checkpointed "snapshot running" at the snapshot's position;
// a restarted snapshot's first batch truncates the table.
class ScriptedRows final : public core::SnapshotRows {
 public:
  ScriptedRows(std::deque<std::vector<std::string>> chunks, BinlogPosition at, bool restarted,
               std::atomic<bool>* cancelled)
      : chunks_(std::move(chunks)), running_(std::move(at)), truncate_(restarted),
        cancelled_(cancelled) {
    running_.snapshot_running = true;
    schema_ = sluice::testing::MakeSchema(
        "shop", "customers",
        {sluice::testing::Col("id", core::LogicalType::kInt32, "int(11)"),
         sluice::testing::Col("name", core::LogicalType::kString, "varchar(40)")});
  }

  core::Result<bool> Next(core::EventBatch& batch, const core::PollLimits&) override {
    if (stop_during_read) {
      stop_during_read->store(true);  // RequestStop() from another thread, mid-read
      return core::CancelledError("mysql snapshot stopped");
    }
    if (fail_next) return core::UnavailableError("mysql snapshot of shop.customers: lost connection");
    if (chunks_.empty()) return true;
    if (truncate_) {
      batch.AddEvent({.op = core::Op::kTruncate, .table = schema_});
      truncate_ = false;
    }
    for (const std::string& id : chunks_.front()) {
      uint32_t row = batch.BeginRow();
      batch.AppendValue(id);
      batch.AppendValue("name" + id);
      batch.EndRow();
      batch.AddEvent({.op = core::Op::kRead, .after = row, .table = schema_});
    }
    chunks_.pop_front();
    batch.set_checkpoint({running_.ToJson()});
    return false;
  }
  void Cancel() override { cancelled_->store(true); }

  bool fail_next = false;
  std::atomic<bool>* stop_during_read = nullptr;

 private:
  std::deque<std::vector<std::string>> chunks_;
  BinlogPosition running_;
  bool truncate_;
  std::atomic<bool>* cancelled_;
  core::TableSchemaPtr schema_;
};

// The server side of the phases: records each move; the stream is a StreamReader over the fake
// binlog server, which replays stream.binlog from wherever the stream opens.
class FakePhaseIo final : public PhaseIo {
 public:
  FakePhaseIo() : server(&clock) {
    server.events = testing::LoadBinlog("stream.binlog");
    for (const testing::CapturedEvent& e : server.events) {
      if (static_cast<uint8_t>(e.bytes[4]) == kGtid) ++gtids;
      if (static_cast<uint8_t>(e.bytes[4]) == kXid) xid_ends.push_back(e.pos + e.bytes.size());
    }
    server.tables[{"shop", "customers"}] = FakeTable(
        {"shop", "customers"},
        {{"id", "int", "int(11)", "", 10, 0}, {"name", "varchar", "varchar(40)", "utf8mb4", 0, 0}},
        {0});
    server.tables[{"shop", "orders"}] = FakeTable(
        {"shop", "orders"},
        {{"id", "int", "int(11)", "", 10, 0}, {"customer_id", "int", "int(11)", "", 10, 0},
         {"amount", "decimal", "decimal(10,2)", "", 10, 2}},
        {0});
    core::ConnectorConfig config("c", {{"table.include.list", "shop\\.customers,shop\\.orders"}});
    auto parsed = CaptureFilter::FromConfig(config);
    EXPECT_TRUE(parsed.ok()) << parsed.status().message();
    if (parsed.ok()) filter = std::move(*parsed);
  }

  // Where transaction A (the fixture's first on captured tables) ends, with its GTID state: the
  // position binlog_snapshot_file/position and gtid_binlog_pos report for a snapshot taken after
  // A committed.
  BinlogPosition AfterA() const {
    return {server.file, xid_ends.at(0), "0-1-" + std::to_string(gtids - 4), false, ""};
  }

  core::Result<bool> BinlogFileOnServer(const std::string& file) override {
    moves.push_back("look up " + file);
    if (!file_lookups.empty()) {
      bool answer = file_lookups.front();
      file_lookups.pop_front();
      return answer;
    }
    return std::find(server.binary_logs.begin(), server.binary_logs.end(), file) !=
           server.binary_logs.end();
  }
  core::Result<BinlogPosition> ServerPosition() override {
    moves.push_back("server position");
    return server_position;
  }
  core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) override {
    moves.push_back(restarted ? "snapshot with truncates" : "snapshot");
    if (!snapshot_error.ok()) return snapshot_error;
    auto rows = std::make_unique<ScriptedRows>(snapshot_chunks, snapshot_position, restarted,
                                               &snapshot_cancelled);
    rows_ = rows.get();
    return OpenedSnapshot{std::move(rows), snapshot_position};
  }
  void SnapshotOnlyFinished() override { moves.push_back("finished"); }
  core::Status OpenStream(StreamFrom from, const BinlogPosition& at) override {
    const char* where = from == StreamFrom::kStoredPosition   ? "stored position"
                        : from == StreamFrom::kServerPosition ? "server position"
                                                              : "snapshot end";
    moves.push_back(std::string("stream from ") + where);
    StreamOptions options;
    options.server_id = 5401;
    options.heartbeat_ms = kHeartbeatMs;
    stream_ = std::make_unique<StreamReader>(std::make_unique<FakeBinlogStream>(&server),
                                             std::make_unique<FakeBinlogCatalog>(&server),
                                             &filter, options, logger, &clock);
    return stream_->Open(at);
  }
  core::Result<PollStatus> PollStream(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    if (!stream_) return core::UnavailableError("mysql source is not started");
    return stream_->Poll(batch, limits);
  }

  ScriptedRows* rows() { return rows_; }

  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>(
      "mysql-source-phases-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  core::ManualClock clock;
  FakeBinlogServer server;
  CaptureFilter filter;
  size_t gtids = 0;               // GTID events in the capture
  std::vector<uint64_t> xid_ends;  // where transactions A, B, C, D end

  std::deque<std::vector<std::string>> snapshot_chunks = {{"1", "2"}, {"3"}};
  BinlogPosition snapshot_position;  // set by the tests (AfterA)
  core::Status snapshot_error = core::Status::Ok();
  BinlogPosition server_position;
  std::deque<bool> file_lookups;  // scripted BinlogFileOnServer answers, then server.binary_logs
  std::atomic<bool> snapshot_cancelled{false};
  std::vector<std::string> moves;

 private:
  std::unique_ptr<StreamReader> stream_;
  ScriptedRows* rows_ = nullptr;
};

const std::vector<std::string> kSnapshotRows = {
    "r shop.customers (1,name1)", "r shop.customers (2,name2)", "r shop.customers (3,name3)"};
// The capture's changes after transaction A (stream_reader_test.cc renders them the same way):
// D, then the TRUNCATE.
const std::vector<std::string> kAfterA = {"c shop.orders (11,2,1.00)", "c shop.orders (12,2,2.00)",
                                          "d shop.customers (2,bob)->", "t shop.orders"};

class MysqlSourcePhasesTest : public ::testing::Test {
 protected:
  MysqlSourcePhasesTest() {
    io_.snapshot_position = io_.AfterA();
    io_.server_position = io_.AfterA();
  }

  core::Status Begin(const std::optional<BinlogPosition>& stored, SnapshotMode mode) {
    return phases_.Begin(stored, mode);
  }

  // One Poll; the status, with the batch's events and checkpoint in `batch`. The stream answers
  // within a heartbeat of the ManualClock when caught up.
  PollStatus PollOnce(core::EventBatch& batch, core::PollLimits limits = {}) {
    batch.Clear();
    auto status = phases_.Poll(batch, limits);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    return status.ok() ? *status : PollStatus::kIdle;
  }

  // Every event and every checkpoint, in order, of 60 Polls that each return after one binlog
  // event (max_wait 0), so that each commit is checkpointed on its own; the capture has fewer
  // events than that, the Polls after them see heartbeats.
  std::vector<std::string> Drain(std::vector<BinlogPosition>* checkpoints) {
    std::vector<std::string> out;
    core::PollLimits limits;
    limits.max_wait = std::chrono::milliseconds(0);
    for (int i = 0; i < 60; ++i) {
      core::EventBatch batch;
      PollOnce(batch, limits);
      for (std::string& e : Rendered(batch)) out.push_back(std::move(e));
      if (auto p = Checkpoint(batch)) checkpoints->push_back(*p);
    }
    return out;
  }

  // The snapshot's rows as the first Polls return them, with their checkpoints.
  std::vector<std::string> ReadSnapshot(std::vector<BinlogPosition>* checkpoints,
                                        PollStatus* last = nullptr) {
    std::vector<std::string> out;
    for (int i = 0; i < 10; ++i) {
      core::EventBatch batch;
      PollStatus status = PollOnce(batch);
      for (std::string& e : Rendered(batch)) out.push_back(std::move(e));
      if (auto p = Checkpoint(batch)) checkpoints->push_back(*p);
      if (last) *last = status;
      auto at = Checkpoint(batch);
      if (status == PollStatus::kFinished || !at || !at->snapshot_running) break;
    }
    return out;
  }

  // The stream opened after C (its dump at C's end) delivers D and the TRUNCATE; the first
  // position it commits is D's end with D's GTID (the stream learns the GTID state from D's GTID
  // event), the last one is past FLUSH BINARY LOGS's ROTATE.
  void ExpectStreamFromTheEndOfC() {
    ASSERT_FALSE(io_.server.opens.empty());
    EXPECT_EQ(io_.server.opens.back().pos, io_.xid_ends[2]);
    std::vector<BinlogPosition> streamed;
    EXPECT_EQ(Drain(&streamed), kAfterA);
    ASSERT_FALSE(streamed.empty());
    EXPECT_EQ(streamed.front().pos, io_.xid_ends[3]);
    EXPECT_EQ(streamed.front().gtid, "0-1-" + std::to_string(io_.gtids - 1));
    EXPECT_EQ(streamed.back().file, "mysql-bin.000002");
  }

  BinlogPosition StreamingAt(uint64_t pos, std::string gtid = "") {
    return {io_.server.file, pos, std::move(gtid), false, ""};
  }

  FakePhaseIo io_;
  std::atomic<bool> stop_{false};
  SourcePhases phases_{&io_, &stop_, io_.logger};
};

TEST_F(MysqlSourcePhasesTest, CaptureHoldsTheFixturesTransactions) {
  ASSERT_GT(io_.server.events.size(), 20u) << "tests/testdata/binlog/stream.binlog missing";
  ASSERT_EQ(io_.xid_ends.size(), 4u);
  ASSERT_GE(io_.gtids, 5u);
}

// A first start: the snapshot opens at once, its rows are checkpointed "snapshot running"; the
// batch that ends it is checkpointed at the snapshot's binlog position, file, pos and GTID state
// (not running), the stream opens there in the same Poll, and it continues from exactly there:
// D and the TRUNCATE, never A again, with the GTID state carried on.
TEST_F(MysqlSourcePhasesTest, SnapshotRowsThenStreamFromTheSnapshotsBinlogPosition) {
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitial).ok());
  EXPECT_EQ(io_.moves, std::vector<std::string>({"snapshot"}));
  EXPECT_FALSE(phases_.streaming());

  std::vector<BinlogPosition> checkpoints;
  EXPECT_EQ(ReadSnapshot(&checkpoints), kSnapshotRows);
  ASSERT_EQ(checkpoints.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(checkpoints[i].snapshot_running) << i;
    EXPECT_EQ(checkpoints[i].pos, io_.xid_ends[0]) << i;
  }
  const BinlogPosition& switched = checkpoints[2];
  EXPECT_FALSE(switched.snapshot_running);
  EXPECT_EQ(switched.file, io_.server.file);
  EXPECT_EQ(switched.pos, io_.xid_ends[0]);
  EXPECT_EQ(switched.gtid, "0-1-" + std::to_string(io_.gtids - 4));
  EXPECT_EQ(io_.moves, std::vector<std::string>({"snapshot", "stream from snapshot end"}));
  EXPECT_TRUE(phases_.streaming());
  ASSERT_EQ(io_.server.opens.size(), 1u);
  EXPECT_EQ(io_.server.opens[0].file, io_.server.file);
  EXPECT_EQ(io_.server.opens[0].pos, io_.xid_ends[0]);

  std::vector<BinlogPosition> streamed;
  EXPECT_EQ(Drain(&streamed), kAfterA);
  std::vector<std::string> committed;
  for (const BinlogPosition& p : streamed) {
    committed.push_back(p.file + ":" + std::to_string(p.pos) + " " + p.gtid +
                        (p.snapshot_running ? " running" : ""));
  }
  // The ends of B and C (uncaptured tables, checkpoint-only), of the TRUNCATE (D's commit has no
  // batch of its own: a one-event Poll sends a checkpoint-only batch at most once per heartbeat
  // period, and the clock stood still), then past FLUSH BINARY LOGS's ROTATE; the GTID state
  // carried on from the snapshot's.
  const auto& events = io_.server.events;
  const uint64_t truncate_end = events[events.size() - 2].pos + events[events.size() - 2].bytes.size();
  auto gtid = [&](size_t back) { return " 0-1-" + std::to_string(io_.gtids - back); };
  EXPECT_EQ(committed, std::vector<std::string>(
                           {"mysql-bin.000001:" + std::to_string(io_.xid_ends[1]) + gtid(3),
                            "mysql-bin.000001:" + std::to_string(io_.xid_ends[2]) + gtid(2),
                            "mysql-bin.000001:" + std::to_string(truncate_end) + gtid(0),
                            "mysql-bin.000002:4" + gtid(0)}));
}

// The switch at a file/pos without GTID state (MySQL, or MariaDB before its first GTID): the
// checkpoint and the dump carry the file and pos alone.
TEST_F(MysqlSourcePhasesTest, SwitchAtAFilePositionWithoutGtid) {
  io_.snapshot_position = StreamingAt(io_.xid_ends[2]);  // after C: D and the TRUNCATE follow
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitial).ok());
  std::vector<BinlogPosition> checkpoints;
  EXPECT_EQ(ReadSnapshot(&checkpoints), kSnapshotRows);
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_FALSE(checkpoints.back().snapshot_running);
  EXPECT_EQ(checkpoints.back().pos, io_.xid_ends[2]);
  EXPECT_EQ(checkpoints.back().gtid, "");
  EXPECT_EQ(io_.server.opens.size(), 1u);
  ExpectStreamFromTheEndOfC();
}

// initial_only: the rows, then kFinished with the snapshot's position checkpointed; no stream
// opens, no binlog is dumped, and the phases stay finished.
TEST_F(MysqlSourcePhasesTest, InitialOnlyFinishesAfterTheRowsWithoutAStream) {
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitialOnly).ok());
  std::vector<BinlogPosition> checkpoints;
  PollStatus last = PollStatus::kIdle;
  EXPECT_EQ(ReadSnapshot(&checkpoints, &last), kSnapshotRows);
  EXPECT_EQ(last, PollStatus::kFinished);
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_FALSE(checkpoints.back().snapshot_running);
  EXPECT_EQ(checkpoints.back().pos, io_.xid_ends[0]);
  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kFinished);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(io_.moves, std::vector<std::string>({"snapshot", "finished"}));
  EXPECT_TRUE(io_.server.opens.empty());
  EXPECT_FALSE(phases_.streaming());
}

// A restart from a committed streaming position: its file is looked up, then the stream opens
// there with its GTID state; no snapshot, and the transactions before it are not delivered again.
TEST_F(MysqlSourcePhasesTest, RestartFromACommittedPositionStreamsFromIt) {
  ASSERT_TRUE(Begin(StreamingAt(io_.xid_ends[2], "0-1-" + std::to_string(io_.gtids - 2)),
                    SnapshotMode::kInitial)
                  .ok());
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"look up mysql-bin.000001", "stream from stored position"}));
  EXPECT_EQ(io_.server.opens.size(), 1u);
  ExpectStreamFromTheEndOfC();
}

// A restart from a position stored while the snapshot ran: no look-up (a snapshot's
// transaction dies with its connection), a new snapshot at once whose first batch truncates.
TEST_F(MysqlSourcePhasesTest, RestartDuringTheSnapshotSnapshotsAgainWithTruncates) {
  BinlogPosition running = io_.AfterA();
  running.snapshot_running = true;
  ASSERT_TRUE(Begin(running, SnapshotMode::kInitial).ok());
  EXPECT_EQ(io_.moves, std::vector<std::string>({"snapshot with truncates"}));
  std::vector<BinlogPosition> checkpoints;
  std::vector<std::string> expected = {"t shop.customers"};
  expected.insert(expected.end(), kSnapshotRows.begin(), kSnapshotRows.end());
  EXPECT_EQ(ReadSnapshot(&checkpoints), expected);
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_TRUE(checkpoints[0].snapshot_running);
  EXPECT_FALSE(checkpoints[2].snapshot_running);
  EXPECT_EQ(checkpoints[2].pos, io_.xid_ends[0]);
  std::vector<BinlogPosition> streamed;
  EXPECT_EQ(Drain(&streamed), kAfterA);
  ASSERT_FALSE(streamed.empty());
  EXPECT_EQ(streamed.back().file, "mysql-bin.000002");
}

// never and no_data without a stored position: the stream opens at the server's current
// position, with no snapshot and no look-up.
TEST_F(MysqlSourcePhasesTest, NeverAndNoDataStreamFromTheServersPosition) {
  for (SnapshotMode mode : {SnapshotMode::kNever, SnapshotMode::kNoData}) {
    io_.moves.clear();
    io_.server_position = StreamingAt(io_.xid_ends[2]);
    ASSERT_TRUE(Begin(std::nullopt, mode).ok());
    EXPECT_EQ(io_.moves,
              std::vector<std::string>({"server position", "stream from server position"}));
    ExpectStreamFromTheEndOfC();
  }
  EXPECT_EQ(io_.rows(), nullptr);
}

// The stored position's binlog is no longer on the server: kFailedPrecondition naming the file,
// nothing opened; with when_needed a new snapshot with truncates instead.
TEST_F(MysqlSourcePhasesTest, PurgedBinlogFailsOrSnapshotsAgainWithWhenNeeded) {
  io_.server.binary_logs = {"mysql-bin.000002"};
  core::Status failed = Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kInitial);
  EXPECT_EQ(failed.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(failed.message().find("mysql-bin.000001"), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find("purged"), std::string::npos) << failed.message();
  EXPECT_EQ(io_.moves, std::vector<std::string>({"look up mysql-bin.000001"}));
  EXPECT_TRUE(io_.server.opens.empty());
  core::EventBatch batch;
  EXPECT_FALSE(phases_.Poll(batch, core::PollLimits{}).ok());  // not started

  io_.moves.clear();
  ASSERT_TRUE(Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kWhenNeeded).ok());
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"look up mysql-bin.000001", "snapshot with truncates"}));
  core::EventBatch batch2;
  EXPECT_EQ(PollOnce(batch2), PollStatus::kHaveMore);
  EXPECT_EQ(Rendered(batch2), std::vector<std::string>({"t shop.customers",
                                                        "r shop.customers (1,name1)",
                                                        "r shop.customers (2,name2)"}));
  ASSERT_TRUE(Checkpoint(batch2).has_value());
  EXPECT_TRUE(Checkpoint(batch2)->snapshot_running);
}

// Purged between the look-up and the dump: the stream's own check fails with the same error; with
// when_needed a second look-up confirms the file is gone and a new snapshot starts; a file that
// is still there after all keeps the stream's error.
TEST_F(MysqlSourcePhasesTest, PurgedAfterTheLookUpIsCaughtByTheStream) {
  io_.server.binary_logs = {"mysql-bin.000002"};
  io_.file_lookups = {true};
  core::Status failed = Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kInitial);
  EXPECT_EQ(failed.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"look up mysql-bin.000001", "stream from stored position"}));

  io_.moves.clear();
  io_.file_lookups = {true, false};
  ASSERT_TRUE(Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kWhenNeeded).ok());
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"look up mysql-bin.000001", "stream from stored position",
                                      "look up mysql-bin.000001", "snapshot with truncates"}));
  EXPECT_FALSE(phases_.streaming());

  io_.moves.clear();
  io_.file_lookups = {true, true};
  failed = Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kWhenNeeded);
  EXPECT_EQ(failed.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"look up mysql-bin.000001", "stream from stored position",
                                      "look up mysql-bin.000001"}));
}

// A failed snapshot read is the Poll's error, with nothing checkpointed; so is a snapshot that
// cannot start, and a binlog connection lost while streaming (after what was committed before).
TEST_F(MysqlSourcePhasesTest, FailedReadsAreThePollsError) {
  io_.snapshot_error = core::UnavailableError("mysql: cannot connect");
  EXPECT_EQ(Begin(std::nullopt, SnapshotMode::kInitial).code(), core::StatusCode::kUnavailable);

  io_.snapshot_error = core::Status::Ok();
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitial).ok());
  ASSERT_NE(io_.rows(), nullptr);
  io_.rows()->fail_next = true;
  core::EventBatch batch;
  auto failed = phases_.Poll(batch, core::PollLimits{});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), core::StatusCode::kUnavailable);
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.checkpoint().empty());
  EXPECT_TRUE(io_.server.opens.empty());

  io_.server.drop_after = 0;
  ASSERT_TRUE(Begin(StreamingAt(io_.xid_ends[2]), SnapshotMode::kInitial).ok());
  batch.Clear();
  auto lost = phases_.Poll(batch, core::PollLimits{});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), core::StatusCode::kUnavailable) << lost.status().ToString();
  EXPECT_TRUE(batch.checkpoint().empty());
}

// Cancel() reaches the snapshot's rows; a read that fails while stopping is kIdle, not an error,
// and a stopping source polls idle without reading.
TEST_F(MysqlSourcePhasesTest, StopCancelsTheSnapshotAndPollsIdle) {
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitial).ok());
  phases_.Cancel();
  EXPECT_TRUE(io_.snapshot_cancelled.load());
  stop_.store(true);
  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kIdle);
  EXPECT_TRUE(batch.empty());

  // The read was already under way when the stop came: its error reads as idle.
  stop_.store(false);
  ASSERT_TRUE(Begin(std::nullopt, SnapshotMode::kInitial).ok());
  io_.rows()->stop_during_read = &stop_;
  EXPECT_EQ(PollOnce(batch), PollStatus::kIdle);
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(io_.server.opens.empty());

  // Close() cancels and drops the rows: a new Begin starts afresh.
  io_.snapshot_cancelled.store(false);
  phases_.Close();
  EXPECT_TRUE(io_.snapshot_cancelled.load());
}

}  // namespace
}  // namespace sluice::mysql
