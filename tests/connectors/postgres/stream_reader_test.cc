// StreamReader without a server: captured pgoutput bytes (tests/testdata/pgoutput/stream.hex,
// made by capture_stream.sh from PostgreSQL 15) replayed through FakeReplicationStream, Relation
// messages described by FakeRelationCatalog, time from a ManualClock.
#include "connectors/postgres/stream_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_position.h"
#include "tests/common/render_events.h"
#include "tests/connectors/postgres/fake_replication_stream.h"
#include "tests/connectors/postgres/pgoutput_capture.h"

namespace sluice::pg {
namespace {

using testing::FakeRelationCatalog;
using testing::FakeReplicationStream;
using testing::FakeWalSender;

// One event as text: "c public.a (1,one,1.50)", "d public.a (2,~,~)->" (~ unchanged).
std::string Render(const core::EventBatch& batch, const core::ChangeEvent& e) {
  return sluice::testing::RenderEvent(batch, e);
}

uint64_t CheckpointLsn(const core::EventBatch& batch) {
  if (batch.checkpoint().empty()) return 0;
  auto p = PgPosition::Parse(batch.checkpoint().value);
  EXPECT_TRUE(p.ok()) << batch.checkpoint().value;
  return p.ok() ? p->lsn : 0;
}

const std::vector<std::string> kAllEvents = {
    "c public.a (1,one,1.50)",   "c public.b (10,ten)",        "c public.a (2,two,null)",
    "u public.b (10,TEN)",       "d public.a (2,~,~)->",       "c public.a (3,three,3.25)",
    "c public.b (20,twenty)",    "c public.b (21,twenty-one)",
};

class StreamReaderTest : public ::testing::Test {
 protected:
  StreamReaderTest() {
    capture_ = LoadCapture("stream.hex");
    PgoutputMessage m;
    for (const Captured& c : capture_) {
      EXPECT_TRUE(DecodePgoutput(c.bytes, c.lsn, m).ok());
      if (m.type == 'C') commit_ends_.push_back(m.end_lsn);
      if (m.type == 'C') commit_starts_.push_back(c.lsn);
      if (m.type == 'B') final_lsns_.push_back(m.final_lsn);
    }
    kStart = capture_.empty() ? 0 : capture_.front().lsn - 1;
  }

  // A reader over a fresh fake connection; `replay`: the server will send every captured
  // message (else only what the test queues).
  std::unique_ptr<StreamReader> NewReader(FakeWalSender& server, bool replay = true) {
    if (replay) {
      for (const Captured& c : capture_) server.XLogData(c.lsn, c.bytes);
    }
    StreamOptions options;
    options.slot = "sluice_test";
    options.publication = "sluice_pub_test";
    options.database = "shop";
    options.status_interval_ms = status_interval_ms_;
    options.messages = messages_;
    options.message_prefix_exclude = message_prefix_exclude_;
    return std::make_unique<StreamReader>(std::make_unique<FakeReplicationStream>(&server),
                                          std::make_unique<FakeRelationCatalog>(&schemas_),
                                          options, logger_, &clock_);
  }

  // Polls until the reader is idle; every event of the successful polls, rendered.
  std::vector<std::string> Drain(StreamReader& reader, uint64_t* checkpoint = nullptr,
                                 size_t max_events = 4096) {
    std::vector<std::string> out;
    for (int i = 0; i < 100; ++i) {
      core::EventBatch batch;
      core::PollLimits limits;
      limits.max_events = max_events;
      auto status = reader.Poll(batch, limits);
      EXPECT_TRUE(status.ok()) << status.status().message();
      if (!status.ok()) break;
      for (const auto& e : batch.events()) out.push_back(Render(batch, e));
      if (checkpoint && CheckpointLsn(batch)) *checkpoint = CheckpointLsn(batch);
      if (batch.empty() && batch.checkpoint().empty()) break;
    }
    return out;
  }

  core::ManualClock clock_;
  SchemaCache schemas_;
  std::shared_ptr<spdlog::logger> logger_ =
      std::make_shared<spdlog::logger>("stream-reader-test",
                                       std::make_shared<spdlog::sinks::null_sink_mt>());
  int64_t status_interval_ms_ = 10000;
  bool messages_ = false;
  std::vector<core::UserRegex> message_prefix_exclude_;
  std::vector<Captured> capture_;
  std::vector<uint64_t> commit_ends_;
  std::vector<uint64_t> final_lsns_;  // per transaction, from its Begin
  std::vector<uint64_t> commit_starts_;  // XLogData start of each Commit message
  uint64_t kStart = 0;                // before the capture's first transaction
};

TEST_F(StreamReaderTest, CaptureHasThreeTransactions) {
  ASSERT_EQ(capture_.size(), 16u);
  ASSERT_EQ(commit_ends_.size(), 3u);
}

TEST_F(StreamReaderTest, MultiTableTransactionDecodesIntoEvents) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  EXPECT_NE(server.start_command.find("START_REPLICATION SLOT \"sluice_test\" LOGICAL " +
                                      LsnToString(kStart) + " (proto_version '1'"),
            std::string::npos)
      << server.start_command;

  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  // Everything the server sent was read and the batch ends at a commit: caught up.
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  std::vector<std::string> events;
  for (const auto& e : batch.events()) events.push_back(Render(batch, e));
  EXPECT_EQ(events, kAllEvents);
  // One transaction per Begin, events pointing at theirs; the batch ends at the last commit.
  ASSERT_EQ(batch.txns().size(), 3u);
  std::vector<uint32_t> txn_of;
  for (const auto& e : batch.events()) txn_of.push_back(e.txn);
  EXPECT_EQ(txn_of, (std::vector<uint32_t>{0, 0, 0, 0, 0, 1, 2, 2}));
  EXPECT_EQ(batch.txn(0).lsn, final_lsns_[0]);  // the Begin's final LSN
  EXPECT_EQ(CheckpointLsn(batch), commit_ends_[2]);
  // Both tables have their schema (from the Relation messages), the key from the identity.
  const auto& a = batch.events()[0].table;
  const auto& b = batch.events()[1].table;
  ASSERT_EQ(a->columns.size(), 3u);
  EXPECT_EQ(a->columns[2].source_type, "numeric(10,2)");
  EXPECT_EQ(a->key, (std::vector<uint32_t>{0}));
  ASSERT_EQ(b->columns.size(), 2u);
  EXPECT_EQ(b->columns[1].name, "note");
}

// Transaction metadata: a BEGIN and a COMMIT boundary per transaction, placed between the
// events, with the xid and commit time, and message LSNs ordered BEGIN <= changes < COMMIT.
TEST_F(StreamReaderTest, TransactionBoundariesSurroundTheirEvents) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  const auto& bs = batch.boundaries();
  ASSERT_EQ(bs.size(), 6u);
  std::vector<uint32_t> at;
  for (const auto& b : bs) at.push_back(b.event_index);
  EXPECT_EQ(at, (std::vector<uint32_t>{0, 5, 5, 6, 6, 8}));
  for (size_t t = 0; t < 3; ++t) {
    const core::TxnBoundary& begin = bs[2 * t];
    const core::TxnBoundary& commit = bs[2 * t + 1];
    EXPECT_TRUE(begin.begin);
    EXPECT_FALSE(commit.begin);
    EXPECT_EQ(begin.txid, batch.txn(static_cast<uint32_t>(t)).txid);
    EXPECT_EQ(commit.txid, begin.txid);
    EXPECT_EQ(begin.ts_ms, batch.txn(static_cast<uint32_t>(t)).ts_ms);
    for (uint32_t e = begin.event_index; e < commit.event_index; ++e) {
      EXPECT_LE(begin.lsn, batch.events()[e].lsn);
      EXPECT_LT(batch.events()[e].lsn, commit.lsn);
      EXPECT_GT(batch.events()[e].lsn, 0u);
    }
  }
}

// Debezium's source "lsn" is each change's own WAL position and "sequence" starts with where the
// previous transaction committed: the events carry the first, the transactions the second.
TEST_F(StreamReaderTest, EventsCarryTheirOwnLsnAndTransactionsThePreviousCommit) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  const uint64_t resumed_after = kStart - 7;
  reader->SetLastCommitLsn(resumed_after);
  ASSERT_TRUE(reader->Open(kStart).ok());
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  ASSERT_EQ(batch.txns().size(), 3u);
  ASSERT_EQ(commit_starts_.size(), 3u);
  EXPECT_EQ(batch.txn(0).last_commit_lsn, resumed_after);
  EXPECT_EQ(batch.txn(1).last_commit_lsn, commit_starts_[0]);
  EXPECT_EQ(batch.txn(2).last_commit_lsn, commit_starts_[1]);
  std::vector<uint64_t> txn0_lsns;
  for (const auto& e : batch.events()) {
    if (e.txn == 0) txn0_lsns.push_back(e.lsn);
  }
  ASSERT_EQ(txn0_lsns.size(), 5u);
  for (size_t i = 1; i < txn0_lsns.size(); ++i) EXPECT_GT(txn0_lsns[i], txn0_lsns[i - 1]);
  EXPECT_NE(txn0_lsns.front(), batch.txn(0).lsn);
  for (const auto& t : batch.txns()) {
    EXPECT_GT(t.ts_us, 0);
    EXPECT_EQ(t.ts_us / 1000, t.ts_ms);  // the commit time keeps its microseconds
  }
}

TEST_F(StreamReaderTest, FullBatchKeepsTheLastCommitsCheckpoint) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  core::PollLimits limits;
  limits.max_events = 6;  // txn 1 (5 events) and txn 2 (1) fit, txn 3 does not
  core::EventBatch first;
  ASSERT_TRUE(reader->Poll(first, limits).ok());
  EXPECT_EQ(first.size(), 6u);
  EXPECT_EQ(CheckpointLsn(first), commit_ends_[0]);  // txn 2's commit is not in it yet
  uint64_t checkpoint = 0;
  std::vector<std::string> rest = Drain(*reader, &checkpoint);
  EXPECT_EQ(rest, std::vector<std::string>(kAllEvents.begin() + 6, kAllEvents.end()));
  EXPECT_EQ(checkpoint, commit_ends_[2]);
}

TEST_F(StreamReaderTest, KeepaliveAskingForReplyIsAnsweredAtOnce) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  ASSERT_EQ(Drain(*reader), kAllEvents);
  server.sent.clear();  // the first report of the start position, 50 ms after Open

  server.Keepalive(commit_ends_[2], /*reply_requested=*/false);
  core::EventBatch quiet;
  ASSERT_TRUE(reader->Poll(quiet, core::PollLimits{}).ok());
  EXPECT_TRUE(server.sent.empty()) << "a keepalive without the reply flag needs no answer";

  server.Keepalive(commit_ends_[2] + 0x100, /*reply_requested=*/true);
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  auto updates = server.Updates();
  ASSERT_GE(updates.size(), 1u);
  // Nothing acknowledged yet: flush stays at the start; write covers what was received.
  EXPECT_EQ(updates[0].flush_lsn, kStart);
  EXPECT_EQ(updates[0].apply_lsn, kStart);
  EXPECT_EQ(updates[0].write_lsn, commit_ends_[2]);
  EXPECT_FALSE(updates[0].reply_requested);
}

TEST_F(StreamReaderTest, AcknowledgedPositionIsReportedAsFlush) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  ASSERT_EQ(Drain(*reader), kAllEvents);
  server.sent.clear();

  reader->Acknowledge(commit_ends_[1]);  // the sink made transactions 1 and 2 durable
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  auto updates = server.Updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].flush_lsn, commit_ends_[1]);
  EXPECT_EQ(updates[0].write_lsn, commit_ends_[2]);

  // An older acknowledgement never moves the slot back; the same one is not sent again.
  reader->Acknowledge(commit_ends_[0]);
  core::EventBatch again;
  ASSERT_TRUE(reader->Poll(again, core::PollLimits{}).ok());
  EXPECT_EQ(server.Updates().size(), 1u);
}

TEST_F(StreamReaderTest, AnAcknowledgementOfEverythingReceivedIsReportedWithoutDelay) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  ASSERT_EQ(Drain(*reader), kAllEvents);
  ASSERT_TRUE(reader->RequestKeepalive().ok());  // a status update now: the cadence restarts
  server.sent.clear();
  const auto before = clock_.Now();

  // Part of what was received: the update waits for the 50 ms cadence.
  reader->Acknowledge(commit_ends_[1]);
  ASSERT_TRUE(reader->KeepAlive().ok());
  EXPECT_TRUE(server.Updates().empty());
  // Everything received (the stream caught up): reported at once, no time passed.
  reader->Acknowledge(commit_ends_[2]);
  ASSERT_TRUE(reader->KeepAlive().ok());
  auto updates = server.Updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].flush_lsn, commit_ends_[2]);
  EXPECT_EQ(clock_.Now(), before);
}

// Nothing more buffered reads as caught up (kIdle) only between transactions: in the middle of
// one its commit is on the way (kHaveMore), so the pipeline does not flush part of it early.
TEST_F(StreamReaderTest, NothingBufferedIsCaughtUpOnlyBetweenTransactions) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server, /*replay=*/false);
  ASSERT_TRUE(reader->Open(kStart).ok());
  size_t first_commit = 0;
  while (first_commit < capture_.size() && capture_[first_commit].bytes[0] != 'C') ++first_commit;
  ASSERT_LT(first_commit, capture_.size());
  for (size_t i = 0; i < first_commit; ++i) server.XLogData(capture_[i].lsn, capture_[i].bytes);
  core::EventBatch open;
  auto status = reader->Poll(open, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_FALSE(open.empty());
  EXPECT_TRUE(open.checkpoint().empty());
  EXPECT_EQ(*status, core::PollStatus::kHaveMore) << "caught up in the middle of a transaction";
  server.XLogData(capture_[first_commit].lsn, capture_[first_commit].bytes);
  core::EventBatch committed;
  status = reader->Poll(committed, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(CheckpointLsn(committed), commit_ends_[0]);
  EXPECT_EQ(*status, core::PollStatus::kIdle) << "not caught up at a commit with nothing more";
}

// A pause in a backlog is not "caught up": when the next transaction comes while the reader
// waits after a commit (kCaughtUpProbe), it joins the same batch, and the batch is called caught
// up only when a wait ends with nothing (so a catch-up is not flushed in small pieces).
TEST_F(StreamReaderTest, APauseShorterThanTheProbeKeepsTheBatchFilling) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server, /*replay=*/false);
  ASSERT_TRUE(reader->Open(kStart).ok());
  std::vector<size_t> commits;
  for (size_t i = 0; i < capture_.size(); ++i) {
    if (capture_[i].bytes[0] == 'C') commits.push_back(i);
  }
  ASSERT_GE(commits.size(), 2u);
  for (size_t i = 0; i <= commits[0]; ++i) server.XLogData(capture_[i].lsn, capture_[i].bytes);
  int waits = 0;
  server.on_wait = [&] {
    if (++waits != 1) return;  // the second transaction arrives during the first pause only
    for (size_t i = commits[0] + 1; i <= commits[1]; ++i) {
      server.XLogData(capture_[i].lsn, capture_[i].bytes);
    }
  };
  core::EventBatch batch;
  const auto before = clock_.Now();
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  EXPECT_EQ(CheckpointLsn(batch), commit_ends_[1]) << "the second transaction joined the batch";
  EXPECT_EQ(waits, 2);
  EXPECT_EQ(clock_.Now() - before, std::chrono::milliseconds(5)) << "one empty probe";
}

TEST_F(StreamReaderTest, StatusUpdatesEveryIntervalWhileIdle) {
  status_interval_ms_ = 1000;
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  ASSERT_EQ(Drain(*reader), kAllEvents);
  server.sent.clear();
  core::PollLimits limits;
  limits.max_wait = std::chrono::milliseconds(3500);
  core::EventBatch batch;
  auto status = reader->Poll(batch, limits);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  // 3.5 s of (manual) time without data: one update a second, each with the unchanged flush.
  auto updates = server.Updates();
  ASSERT_EQ(updates.size(), 3u);
  for (const auto& u : updates) EXPECT_EQ(u.flush_lsn, kStart);
}

TEST_F(StreamReaderTest, IdleCheckpointAtKeepaliveWalEndAfterCommitThenEveryInterval) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  ASSERT_EQ(Drain(*reader), kAllEvents);

  // Caught up after a commit: the keepalive's WAL end is confirmed at once.
  const uint64_t wal_end = commit_ends_[2] + 0x200;
  server.Keepalive(wal_end, false);
  core::EventBatch idle;
  auto status = reader->Poll(idle, core::PollLimits{});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  EXPECT_TRUE(idle.empty());
  EXPECT_EQ(CheckpointLsn(idle), wal_end);

  // Without a new commit, the next one waits for idle_checkpoint_ms (2 s).
  server.Keepalive(wal_end + 0x100, false);
  core::EventBatch early;
  ASSERT_TRUE(reader->Poll(early, core::PollLimits{}).ok());  // 200 ms of manual time
  EXPECT_TRUE(early.checkpoint().empty());
  clock_.Advance(std::chrono::milliseconds(2000));
  core::EventBatch later;
  ASSERT_TRUE(reader->Poll(later, core::PollLimits{}).ok());
  EXPECT_EQ(CheckpointLsn(later), wal_end + 0x100);
}

TEST_F(StreamReaderTest, NoIdleCheckpointInsideATransaction) {
  FakeWalSender server(&clock_);
  for (size_t i = 0; i < 5; ++i) server.XLogData(capture_[i].lsn, capture_[i].bytes);  // no commit
  auto reader = NewReader(server, /*replay=*/false);
  ASSERT_TRUE(reader->Open(kStart).ok());
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_TRUE(batch.checkpoint().empty());
  server.Keepalive(commit_ends_[2] + 0x1000, false);
  clock_.Advance(std::chrono::milliseconds(5000));
  core::EventBatch idle;
  ASSERT_TRUE(reader->Poll(idle, core::PollLimits{}).ok());
  EXPECT_TRUE(idle.checkpoint().empty()) << "confirming past an open transaction loses it";
}

// The connection drops in the middle of transaction 1, after a successful Poll handed over its
// first two events and a failed one read two more (the pipeline drops a failed Poll's batch).
// A new reader (as the pipeline reopens it, from the last durable position) skips exactly what
// was handed over: every event once, in order.
TEST_F(StreamReaderTest, ReconnectMidTransactionResumesWithoutDuplicateOrGap) {
  FakeWalSender first_server(&clock_);
  auto first = NewReader(first_server);
  ASSERT_TRUE(first->Open(kStart).ok());
  std::vector<std::string> delivered;
  core::PollLimits limits;
  limits.max_events = 2;
  core::EventBatch part;
  ASSERT_TRUE(first->Poll(part, limits).ok());
  for (const auto& e : part.events()) delivered.push_back(Render(part, e));
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_TRUE(part.checkpoint().empty());
  first_server.drop_after = 2;
  core::EventBatch lost;
  auto failed = first->Poll(lost, core::PollLimits{});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), core::StatusCode::kUnavailable);
  StreamReader::Emitted emitted = first->emitted();
  EXPECT_EQ(emitted.open_messages, 2u);
  first.reset();

  // The server replays from the stored position (none durable yet: the start).
  FakeWalSender second_server(&clock_);
  auto second = NewReader(second_server);
  second->SkipEmitted(emitted);
  ASSERT_TRUE(second->Open(kStart).ok());
  uint64_t checkpoint = 0;
  for (const std::string& e : Drain(*second, &checkpoint)) delivered.push_back(e);
  EXPECT_EQ(delivered, kAllEvents);
  EXPECT_EQ(checkpoint, commit_ends_[2]);
}

// Resuming from a stored commit position skips the transactions before it by LSN alone (a new
// process has no Emitted), even when the server sends them again.
TEST_F(StreamReaderTest, ResumeFromStoredPositionSkipsEarlierTransactions) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(commit_ends_[0]).ok());
  EXPECT_EQ(Drain(*reader), std::vector<std::string>(kAllEvents.begin() + 5, kAllEvents.end()));
}

// Malformed bytes: a clear kDataLoss naming what is wrong and where, never a crash.
class StreamReaderMalformedTest : public StreamReaderTest {
 protected:
  // Polls the queued messages: a kDataLoss whose message mentions each of `mentions`.
  void ExpectDataLoss(FakeWalSender& server, const std::vector<std::string>& mentions) {
    auto reader = NewReader(server, /*replay=*/false);
    ASSERT_TRUE(reader->Open(kStart).ok());
    core::EventBatch batch;
    auto result = reader->Poll(batch, core::PollLimits{});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), core::StatusCode::kDataLoss);
    for (const std::string& m : mentions) {
      EXPECT_NE(result.status().message().find(m), std::string::npos)
          << "'" << m << "' not in: " << result.status().message();
    }
  }
};

TEST_F(StreamReaderMalformedTest, TruncatedXLogDataHeader) {
  FakeWalSender server(&clock_);
  server.XLogData(capture_[0].lsn, capture_[0].bytes);
  server.pending.back().resize(12);  // 'w' and part of the start LSN
  ExpectDataLoss(server, {"copy data", "malformed replication data"});
}

TEST_F(StreamReaderMalformedTest, UnknownCopyDataKind) {
  FakeWalSender server(&clock_);
  server.pending.push_back("x0123456789");
  ExpectDataLoss(server, {"unknown replication message kind"});
}

TEST_F(StreamReaderMalformedTest, TruncatedInsertNamesItsLsn) {
  FakeWalSender server(&clock_);
  for (size_t i = 0; i < 2; ++i) server.XLogData(capture_[i].lsn, capture_[i].bytes);  // B, R
  std::string insert = capture_[2].bytes;
  const uint64_t at = capture_[2].lsn + 0x11;
  server.XLogData(at, insert.substr(0, insert.size() - 3));  // value cut short
  ExpectDataLoss(server, {"lsn " + LsnToString(at), "ends early"});
}

TEST_F(StreamReaderMalformedTest, ChangeWithoutRelationMessage) {
  FakeWalSender server(&clock_);
  server.XLogData(capture_[0].lsn, capture_[0].bytes);  // B
  server.XLogData(capture_[2].lsn, capture_[2].bytes);  // I on a relation never described
  ExpectDataLoss(server, {"without a Relation message", "sluice_test"});
}

TEST_F(StreamReaderMalformedTest, TupleWithMoreColumnsThanItsRelation) {
  FakeWalSender server(&clock_);
  server.XLogData(capture_[0].lsn, capture_[0].bytes);  // B
  server.XLogData(capture_[3].lsn, capture_[3].bytes);  // R b (2 columns)
  // Table a's insert (3 columns) relabelled as table b's relation id.
  std::string insert = capture_[2].bytes;
  insert.replace(1, 4, capture_[4].bytes.substr(1, 4));
  server.XLogData(capture_[2].lsn, insert);
  ExpectDataLoss(server, {"public.b has 3 columns, its Relation message 2"});
}

// pg_logical_emit_message: a transactional message sits among its transaction's changes (after
// the first Insert here) with its transaction's source; a non-transactional one, between
// transactions, stands alone; a prefix of message.prefix.exclude.list is left out.
TEST_F(StreamReaderTest, LogicalMessagesInPlaceAndFilteredByPrefix) {
  messages_ = true;
  message_prefix_exclude_ = *core::CompileRegexList("message.prefix.exclude.list", "noise.*");
  FakeWalSender server(&clock_);
  const std::string binary("\xff\x00\x80", 3);
  size_t first_commit = 0;
  while (capture_[first_commit].bytes[0] != 'C') ++first_commit;
  bool placed = false;
  for (size_t i = 0; i <= first_commit; ++i) {
    server.XLogData(capture_[i].lsn, capture_[i].bytes);
    if (capture_[i].bytes[0] == 'I' && !placed) {
      server.XLogData(capture_[i].lsn + 1, LogicalMessageBytes(1, "audit", binary));
      server.XLogData(capture_[i].lsn + 2, LogicalMessageBytes(1, "noise_in_txn", "x"));
      placed = true;
    }
  }
  server.XLogData(capture_[first_commit].lsn + 1, LogicalMessageBytes(0, "alone", "plain"));
  server.XLogData(capture_[first_commit].lsn + 2, LogicalMessageBytes(0, "noise", "x"));
  auto reader = NewReader(server, false);
  ASSERT_TRUE(reader->Open(kStart).ok());
  EXPECT_NE(server.start_command.find("messages 'true'"), std::string::npos)
      << server.start_command;
  core::EventBatch batch;
  ASSERT_TRUE(reader->Poll(batch, core::PollLimits{}).ok());
  ASSERT_EQ(batch.logical_messages().size(), 2u);
  const core::LogicalMessage& in_txn = batch.logical_messages()[0];
  EXPECT_TRUE(in_txn.transactional);
  EXPECT_EQ(in_txn.event_index, 1u);  // after the first change
  EXPECT_EQ(batch.message_prefix(in_txn), "audit");
  EXPECT_EQ(batch.message_content(in_txn), binary);
  EXPECT_EQ(in_txn.lsn, 0x16A2B40u);
  EXPECT_EQ(in_txn.txn, batch.events()[0].txn);
  EXPECT_GT(batch.txn(in_txn.txn).txid, 0u);
  const core::LogicalMessage& alone = batch.logical_messages()[1];
  EXPECT_FALSE(alone.transactional);
  EXPECT_EQ(alone.event_index, batch.size());
  EXPECT_EQ(batch.message_prefix(alone), "alone");
  EXPECT_EQ(batch.message_content(alone), "plain");
  EXPECT_EQ(batch.txn(alone.txn).txid, 0u);  // outside any transaction
}

TEST_F(StreamReaderTest, MessagesAreNotAskedForUnlessEnabled) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  EXPECT_EQ(server.start_command.find("messages"), std::string::npos) << server.start_command;
}

TEST_F(StreamReaderTest, StartErrorsSayWhatToDo) {
  FakeWalSender server(&clock_);
  server.start_error = core::FailedPreconditionError(
      "postgres START_REPLICATION on slot sluice_test: publication \"sluice_pub_test\" does not "
      "exist");
  auto reader = NewReader(server);
  core::Status s = reader->Open(kStart);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("publication.autocreate.mode"), std::string::npos) << s.message();

  FakeWalSender busy(&clock_);
  busy.start_error = core::FailedPreconditionError("replication slot \"sluice_test\" is active for PID 7");
  auto second = NewReader(busy);
  EXPECT_EQ(second->Open(kStart).code(), core::StatusCode::kUnavailable);
}

TEST_F(StreamReaderTest, CancelEndsAPollAtOnce) {
  FakeWalSender server(&clock_);
  auto reader = NewReader(server);
  ASSERT_TRUE(reader->Open(kStart).ok());
  reader->Cancel();
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  EXPECT_TRUE(batch.empty());
}

}  // namespace
}  // namespace sluice::pg
