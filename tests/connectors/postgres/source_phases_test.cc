// The PostgreSQL source's phases (source_phases.h) without a server: the announcement, the
// snapshot's rows, the switch to streaming at the snapshot's consistent point, initial_only's
// finish and restarts from stored positions. Start decisions come from the real DecideStart; the
// stream is a real StreamReader replaying captured pgoutput bytes (tests/testdata/pgoutput/
// stream.hex) through FakeReplicationStream; the snapshot's rows are scripted.
#include "connectors/postgres/source_phases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_position.h"
#include "connectors/postgres/start_decision.h"
#include "connectors/postgres/stream_reader.h"
#include "tests/common/render_events.h"
#include "tests/common/schema_builders.h"
#include "tests/connectors/postgres/fake_replication_stream.h"
#include "tests/connectors/postgres/pgoutput_capture.h"

namespace sluice::pg {
namespace {

using core::PollStatus;
using core::SnapshotMode;
using testing::FakeRelationCatalog;
using testing::FakeReplicationStream;
using testing::FakeWalSender;

constexpr char kSlot[] = "sluice_c";

// The events of a batch as text: "r public.a (1,one)", "c public.b (10,ten)".
std::vector<std::string> Rendered(const core::EventBatch& batch) {
  return sluice::testing::RenderEvents(batch);
}

std::optional<PgPosition> Checkpoint(const core::EventBatch& batch) {
  if (batch.checkpoint().empty()) return std::nullopt;
  auto p = PgPosition::Parse(batch.checkpoint().value);
  EXPECT_TRUE(p.ok()) << batch.checkpoint().value;
  if (!p.ok()) return std::nullopt;
  return *p;
}

// Scripted snapshot rows: one chunk of rows per Next(), true with the last chunk.
class ScriptedRows final : public SnapshotRows {
 public:
  ScriptedRows(std::deque<std::vector<std::string>> chunks, std::atomic<bool>* cancelled)
      : chunks_(std::move(chunks)), cancelled_(cancelled) {
    schema_ = sluice::testing::MakeSchema(
        "public", "a",
        {sluice::testing::Col("id", core::LogicalType::kInt32, "integer"),
         sluice::testing::Col("name", core::LogicalType::kString, "text")});
  }

  core::Result<bool> Next(core::EventBatch& batch, const core::PollLimits&) override {
    if (fail_next) return core::UnavailableError("snapshot connection lost");
    if (chunks_.empty()) return true;
    for (const std::string& id : chunks_.front()) {
      uint32_t row = batch.BeginRow();
      batch.AppendValue(id);
      batch.AppendValue("name" + id);
      batch.EndRow();
      batch.AddEvent({.op = core::Op::kRead, .after = row, .table = schema_});
    }
    chunks_.pop_front();
    return chunks_.empty();
  }
  void Cancel() override { cancelled_->store(true); }

  bool fail_next = false;

 private:
  std::deque<std::vector<std::string>> chunks_;
  std::atomic<bool>* cancelled_;
  core::TableSchemaPtr schema_;
};

// The server side of the phases: records each move; the stream is a StreamReader over the fake
// walsender, which replays the whole capture from wherever the stream opens.
class FakePhaseIo final : public PhaseIo {
 public:
  FakePhaseIo() {
    capture = LoadCapture("stream.hex");
    PgoutputMessage m;
    for (const Captured& c : capture) {
      EXPECT_TRUE(DecodePgoutput(c.bytes, c.lsn, m).ok());
      if (m.type == 'C') commit_ends.push_back(m.end_lsn);
    }
    before_capture = capture.empty() ? 0 : capture.front().lsn - 1;
  }

  std::string slot() const override { return kSlot; }
  core::Status PreparePublication() override {
    moves.push_back("publication");
    return core::Status::Ok();
  }
  core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) override {
    moves.push_back(restarted ? "snapshot with truncates" : "snapshot");
    auto rows = std::make_unique<ScriptedRows>(snapshot_chunks, &snapshot_cancelled);
    rows_ = rows.get();
    return OpenedSnapshot{std::move(rows), before_capture};
  }
  core::Status SnapshotSlotHealthy() override { return slot_health; }
  void SnapshotOnlyFinished() override { moves.push_back("temporary slot released"); }
  core::Status OpenStream(StreamFrom from, uint64_t lsn, uint64_t last_commit_lsn) override {
    const char* where = from == StreamFrom::kStoredPosition ? "stored position"
                        : from == StreamFrom::kNewSlot      ? "new slot"
                                                            : "snapshot end";
    moves.push_back(std::string("stream from ") + where);
    stream_lsn = lsn;
    stream_last_commit_lsn = last_commit_lsn;
    for (const Captured& c : capture) server.XLogData(c.lsn, c.bytes);
    StreamOptions options;
    options.slot = kSlot;
    options.publication = "sluice_pub_c";
    options.database = "shop";
    stream_ = std::make_unique<StreamReader>(std::make_unique<FakeReplicationStream>(&server),
                                             std::make_unique<FakeRelationCatalog>(&schemas),
                                             options, logger, &clock);
    stream_->SetLastCommitLsn(last_commit_lsn);
    return stream_->Open(lsn);
  }
  core::Result<PollStatus> PollStream(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    if (!stream_) return core::UnavailableError("postgres source is not started");
    return stream_->Poll(batch, limits);
  }

  ScriptedRows* rows() { return rows_; }

  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>(
      "source-phases-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  core::ManualClock clock;
  FakeWalSender server{&clock};
  SchemaCache schemas;
  std::vector<Captured> capture;
  std::vector<uint64_t> commit_ends;
  uint64_t before_capture = 0;

  std::deque<std::vector<std::string>> snapshot_chunks = {{"1", "2"}, {"3"}};
  std::atomic<bool> snapshot_cancelled{false};
  core::Status slot_health = core::Status::Ok();
  std::vector<std::string> moves;
  uint64_t stream_lsn = 0;
  uint64_t stream_last_commit_lsn = 0;

 private:
  std::unique_ptr<StreamReader> stream_;
  ScriptedRows* rows_ = nullptr;
};

const std::vector<std::string> kSnapshotRows = {"r public.a (1,name1)", "r public.a (2,name2)",
                                                "r public.a (3,name3)"};
// The capture's changes (stream_reader_test.cc renders them the same way).
const std::vector<std::string> kStreamed = {
    "c public.a (1,one,1.50)",  "c public.b (10,ten)",         "c public.a (2,two,null)",
    "u public.b (10,TEN)",      "d public.a (2,~,~)->",          "c public.a (3,three,3.25)",
    "c public.b (20,twenty)",   "c public.b (21,twenty-one)",
};

class SourcePhasesTest : public ::testing::Test {
 protected:
  // Begins as PostgresSource::Start() would after DecideStart on `stored` and `slot`.
  void Begin(const std::optional<PgPosition>& stored, const SlotState& slot, SnapshotMode mode) {
    auto decision = DecideStart(stored, slot, mode, kSlot, "c");
    ASSERT_TRUE(decision.ok()) << decision.status().ToString();
    ASSERT_TRUE(
        phases_.Begin(*decision, stored.has_value(), mode == SnapshotMode::kInitialOnly).ok());
  }

  // One Poll; the status, with the batch's events and checkpoint in `batch`.
  PollStatus PollOnce(core::EventBatch& batch) {
    batch.Clear();
    core::PollLimits limits;
    limits.max_wait = std::chrono::milliseconds(0);
    auto status = phases_.Poll(batch, limits);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    return status.ok() ? *status : PollStatus::kIdle;
  }

  // Polls the stream until it is idle: every streamed event and the last checkpoint's LSN.
  std::vector<std::string> DrainStream(uint64_t* checkpoint) {
    std::vector<std::string> out;
    for (int i = 0; i < 100; ++i) {
      core::EventBatch batch;
      PollOnce(batch);
      for (std::string& e : Rendered(batch)) out.push_back(std::move(e));
      if (auto p = Checkpoint(batch)) *checkpoint = p->lsn;
      if (batch.empty() && batch.checkpoint().empty()) break;
    }
    return out;
  }

  FakePhaseIo io_;
  std::atomic<bool> stop_{false};
  SourcePhases phases_{&io_, &stop_, io_.logger};
};

SlotState ExistingSlot() {
  SlotState s;
  s.exists = true;
  s.wal_status = "reserved";
  s.plugin = "pgoutput";
  s.database = "shop";
  s.confirmed_flush = 0x5000;
  return s;
}

PgPosition StreamingAt(uint64_t lsn) {
  PgPosition p;
  p.lsn = lsn;
  p.slot = kSlot;
  return p;
}

// A first start: the announcement is checkpointed before the slot exists, the snapshot opens
// only once it is acknowledged, its rows come without a checkpoint, the switch to streaming is
// checkpointed at the consistent point, and the stream then continues from exactly there.
TEST_F(SourcePhasesTest, AnnouncementThenSnapshotRowsThenStreamFromTheConsistentPoint) {
  Begin(std::nullopt, SlotState{}, SnapshotMode::kInitial);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"publication"}));

  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  EXPECT_TRUE(batch.empty());
  auto announced = Checkpoint(batch);
  ASSERT_TRUE(announced.has_value());
  EXPECT_TRUE(announced->snapshot_running);
  EXPECT_EQ(announced->slot, kSlot);

  // Not acknowledged yet: nothing is created.
  EXPECT_EQ(PollOnce(batch), PollStatus::kIdle);
  EXPECT_TRUE(batch.empty());
  EXPECT_FALSE(Checkpoint(batch).has_value());
  EXPECT_EQ(io_.moves, std::vector<std::string>({"publication"}));

  phases_.AnnouncementAcknowledged();
  std::vector<std::string> rows;
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"publication", "snapshot"}));
  EXPECT_FALSE(Checkpoint(batch).has_value());
  for (std::string& e : Rendered(batch)) rows.push_back(std::move(e));

  // The last rows, then the switch in the same Poll.
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  for (std::string& e : Rendered(batch)) rows.push_back(std::move(e));
  EXPECT_EQ(rows, kSnapshotRows);
  auto switched = Checkpoint(batch);
  ASSERT_TRUE(switched.has_value());
  EXPECT_FALSE(switched->snapshot_running);
  EXPECT_EQ(switched->lsn, io_.before_capture);
  EXPECT_EQ(switched->slot, kSlot);
  EXPECT_EQ(io_.moves,
            std::vector<std::string>({"publication", "snapshot", "stream from snapshot end"}));
  EXPECT_EQ(io_.stream_lsn, io_.before_capture);
  EXPECT_EQ(io_.stream_last_commit_lsn, 0u);  // unknown after a snapshot, as Debezium's

  uint64_t checkpoint = 0;
  EXPECT_EQ(DrainStream(&checkpoint), kStreamed);
  ASSERT_EQ(io_.commit_ends.size(), 3u);
  EXPECT_EQ(checkpoint, io_.commit_ends[2]);
}

// initial_only: the rows, then kFinished; the temporary slot is released and no stream opens.
TEST_F(SourcePhasesTest, InitialOnlyFinishesAfterTheRowsWithoutAStream) {
  Begin(std::nullopt, SlotState{}, SnapshotMode::kInitialOnly);
  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);  // the announcement
  phases_.AnnouncementAcknowledged();
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  EXPECT_EQ(PollOnce(batch), PollStatus::kFinished);
  EXPECT_EQ(Rendered(batch), std::vector<std::string>({"r public.a (3,name3)"}));
  EXPECT_FALSE(Checkpoint(batch).has_value());
  EXPECT_EQ(PollOnce(batch), PollStatus::kFinished);
  EXPECT_EQ(io_.moves, std::vector<std::string>(
                           {"publication", "snapshot", "temporary slot released"}));
}

// A restart from a committed streaming position streams from it on the existing slot, with that
// position as the last commit; there is no snapshot and no announcement, and the transactions
// before it are not delivered again.
TEST_F(SourcePhasesTest, RestartFromACommittedPositionStreamsFromIt) {
  ASSERT_EQ(io_.commit_ends.size(), 3u);
  const uint64_t committed = io_.commit_ends[0];
  Begin(StreamingAt(committed), ExistingSlot(), SnapshotMode::kInitial);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"stream from stored position"}));
  EXPECT_EQ(io_.stream_lsn, committed);
  EXPECT_EQ(io_.stream_last_commit_lsn, committed);
  uint64_t checkpoint = 0;
  EXPECT_EQ(DrainStream(&checkpoint),
            std::vector<std::string>(kStreamed.begin() + 5, kStreamed.end()));
  EXPECT_EQ(checkpoint, io_.commit_ends[2]);
}

// A restart from a position stored while the snapshot ran: the snapshot starts again at once
// (no announcement: the position is durable already), with truncates.
TEST_F(SourcePhasesTest, RestartDuringTheSnapshotSnapshotsAgainWithTruncates) {
  PgPosition running;
  running.slot = kSlot;
  running.snapshot_running = true;
  Begin(running, ExistingSlot(), SnapshotMode::kInitial);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"snapshot with truncates"}));
  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  EXPECT_EQ(Rendered(batch), std::vector<std::string>(kSnapshotRows.begin(), kSnapshotRows.begin() + 2));
  EXPECT_FALSE(Checkpoint(batch).has_value());
}

// snapshot.mode=never without a slot: a slot made now, streamed from, no snapshot.
TEST_F(SourcePhasesTest, NeverWithoutASlotStreamsFromANewSlot) {
  Begin(std::nullopt, SlotState{}, SnapshotMode::kNever);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"stream from new slot"}));
  EXPECT_EQ(io_.stream_last_commit_lsn, 0u);
}

// A slot lost while the snapshot runs ends the Poll with the I/O's error before any row is read.
TEST_F(SourcePhasesTest, SlotLostDuringTheSnapshotIsReturnedBeforeReading) {
  PgPosition running;
  running.slot = kSlot;
  running.snapshot_running = true;
  Begin(running, ExistingSlot(), SnapshotMode::kInitial);
  io_.slot_health = core::UnavailableError("slot lost");
  core::EventBatch batch;
  auto status = phases_.Poll(batch, core::PollLimits{});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), core::StatusCode::kUnavailable);
  EXPECT_TRUE(batch.empty());
}

// A failed snapshot read is the Poll's error; while stopping it reads as idle. Cancel() reaches
// the snapshot's rows, and a stopping source polls idle.
TEST_F(SourcePhasesTest, SnapshotErrorsAndStop) {
  PgPosition running;
  running.slot = kSlot;
  running.snapshot_running = true;
  Begin(running, ExistingSlot(), SnapshotMode::kInitial);
  ASSERT_NE(io_.rows(), nullptr);
  io_.rows()->fail_next = true;
  core::EventBatch batch;
  auto failed = phases_.Poll(batch, core::PollLimits{});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), core::StatusCode::kUnavailable);

  phases_.Cancel();
  EXPECT_TRUE(io_.snapshot_cancelled.load());
  stop_.store(true);
  EXPECT_EQ(PollOnce(batch), PollStatus::kIdle);
}

// While stopping, an announcement that is not acknowledged opens nothing.
TEST_F(SourcePhasesTest, StopWhileWaitingForTheAnnouncementOpensNothing) {
  Begin(std::nullopt, SlotState{}, SnapshotMode::kInitial);
  core::EventBatch batch;
  EXPECT_EQ(PollOnce(batch), PollStatus::kHaveMore);
  stop_.store(true);
  phases_.AnnouncementAcknowledged();
  EXPECT_EQ(PollOnce(batch), PollStatus::kIdle);
  EXPECT_EQ(io_.moves, std::vector<std::string>({"publication"}));
}

}  // namespace
}  // namespace sluice::pg
