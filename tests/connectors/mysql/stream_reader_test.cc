// StreamReader without a server (fixture: stream_reader_fixture.h): rows, transactions and
// their boundaries, positions and heartbeats, reconnects, the source block, include.query, the
// files' last-write times, damaged events and refused positions.
#include "connectors/mysql/stream_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/mysql/binlog_health.h"
#include "connectors/mysql/incremental_placement.h"
#include "core/envelope.h"
#include "tests/connectors/mysql/stream_reader_fixture.h"

namespace sluice::mysql {
namespace {

using namespace stream_test;  // NOLINT(build/namespaces): the fixture's helpers

TEST_F(MysqlStreamReaderTest, CaptureHoldsTheFixturesTransactions) {
  ASSERT_GT(server_.events.size(), 20u) << "tests/testdata/binlog/stream.binlog missing";
  ASSERT_EQ(xid_ends_.size(), 4u);
  ASSERT_EQ(txn_starts_.size(), 4u);
  // The TRUNCATE, then FLUSH BINARY LOGS's ROTATE to the next file.
  ASSERT_EQ(TypeOf(server_.events.back()), kRotate);
  EXPECT_EQ(TypeOf(server_.events[server_.events.size() - 2]), kQuery);
}

// Issue 17: the observer an incremental snapshot places its chunks with hears of every
// transaction at its start, before any of its changes, and a chunk consistent at D's start
// (binlog_snapshot_position) goes between A and D.
struct PlacingObserver : TransactionObserver {
  core::Status BeforeTransaction(const BinlogLocation& start, bool may_emit,
                                 core::EventBatch& batch) override {
    starts.push_back(start.pos);
    may.push_back(may_emit);
    events_before.push_back(batch.events().size());
    auto now = place.HandOverBefore({std::string(start.file), start.pos});
    if (!now.ok()) return now.status();
    if (*now) handed_at = static_cast<int>(batch.events().size());
    return core::Status::Ok();
  }
  ChunkPlacement place;
  std::vector<uint64_t> starts;
  std::vector<bool> may;
  std::vector<size_t> events_before;
  int handed_at = -1;
};

TEST_F(MysqlStreamReaderTest, ObserverHearsEachTransactionStartBeforeItsChanges) {
  PlacingObserver observer;
  ASSERT_EQ(*observer.place.ChunkRead({server_.file, txn_starts_[3]}),
            ChunkPlacement::Verdict::kHold);
  auto reader = NewReader();
  reader->SetObserver(&observer);
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  std::vector<uint64_t> expected;
  for (size_t g : gtids_) {
    if (server_.events[g].pos >= txn_starts_[0]) expected.push_back(server_.events[g].pos);
  }
  EXPECT_EQ(observer.starts, expected);  // A, B, C, D and the TRUNCATE
  ASSERT_EQ(observer.events_before.size(), 5u);
  EXPECT_EQ(observer.events_before.front(), 0u);
  EXPECT_EQ(observer.events_before[3], kTxnA.size());
  EXPECT_EQ(observer.events_before[4], kTxnA.size() + kTxnD.size());
  EXPECT_EQ(observer.may, std::vector<bool>(5, true));
  EXPECT_EQ(observer.handed_at, static_cast<int>(kTxnA.size()));
  EXPECT_FALSE(observer.place.holding());
  // Between transactions, read up to the next file's start (the ROTATE ends the capture).
  EXPECT_TRUE(reader->between_transactions());
  EXPECT_EQ(std::string(reader->read_to().file), "mysql-bin.000002");
  EXPECT_EQ(reader->read_to().pos, 4u);
}

TEST_F(MysqlStreamReaderTest, ObserverMayNotEmitWhileAnEarlierReadersHandOverIsSkipped) {
  std::vector<std::string> events;
  auto first = NewReader();
  ASSERT_TRUE(first->Open(At(txn_starts_[0])).ok());
  ASSERT_TRUE(Drain(*first, events).ok());
  PlacingObserver observer;
  auto again = NewReader();
  again->SkipEmitted(first->emitted());
  again->SetObserver(&observer);
  ASSERT_TRUE(again->Open(At(txn_starts_[0])).ok());
  events.clear();
  ASSERT_TRUE(Drain(*again, events).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(observer.may, std::vector<bool>(5, false));
}

TEST_F(MysqlStreamReaderTest, MultiTableTransactionDecodesIntoEventsAndCheckpoint) {
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  ASSERT_EQ(server_.opens.size(), 1u);
  EXPECT_EQ(server_.opens[0].file, server_.file);
  EXPECT_EQ(server_.opens[0].pos, txn_starts_[0]);
  EXPECT_EQ(server_.opens[0].server_id, 5401u);
  EXPECT_EQ(server_.opens[0].read_timeout_s, BinlogReadTimeoutSeconds(kHeartbeatMs));

  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, core::PollStatus::kHaveMore);
  std::vector<std::string> events;
  std::vector<uint32_t> txn_of;
  for (const auto& e : batch.events()) {
    events.push_back(Render(batch, e));
    txn_of.push_back(e.txn);
  }
  EXPECT_EQ(events, kAll);
  // A, D and the TRUNCATE have captured changes; B and C (audit only) get no TxnInfo.
  EXPECT_EQ(txn_of, (std::vector<uint32_t>{0, 0, 0, 0, 1, 1, 1, 2}));
  ASSERT_EQ(batch.txns().size(), 3u);
  EXPECT_EQ(batch.txn(0).file, server_.file);
  EXPECT_EQ(batch.txn(0).pos, txn_starts_[0]);
  EXPECT_EQ(batch.txn(1).pos, txn_starts_[3]);
  EXPECT_FALSE(batch.txn(0).gtid.empty());
  EXPECT_NE(batch.txn(0).gtid, batch.txn(1).gtid);
  // The checkpoint: the start of the next file (the ROTATE after the TRUNCATE, the last
  // commit), with the GTID state of that point.
  BinlogPosition cp = Checkpoint(batch);
  EXPECT_EQ(cp.file, "mysql-bin.000002");
  EXPECT_EQ(cp.pos, 4u);
  EXPECT_EQ(cp.gtid, "0-1-" + std::to_string(gtids_.size()));
  // Schemas from the catalog, loaded once per table, and orders again after its TRUNCATE.
  EXPECT_EQ(batch.events()[2].table->columns[2].source_type, "decimal(10,2)");
  EXPECT_EQ(batch.events()[0].table->key, (std::vector<uint32_t>{0}));
  EXPECT_EQ(server_.loads, 3u);
  EXPECT_EQ(reader->events_decoded(), 6u);  // ROWS events of captured tables
}

// Issue 16, provide.transaction.metadata: every transaction (also B and C, audit only, and the
// TRUNCATE's standalone GTID group) is reported as a BEGIN and a COMMIT boundary at its place
// among the events, with Debezium's MariaDB id "<domain>-<server>-<seq>" (its GTID).
TEST_F(MysqlStreamReaderTest, EveryTransactionIsReportedAsBoundariesWithItsGtid) {
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  ASSERT_EQ(batch.events().size(), kAll.size());
  const auto& bs = batch.boundaries();
  ASSERT_EQ(bs.size(), 10u);  // A, B, C, D, TRUNCATE
  const std::vector<std::pair<uint32_t, uint32_t>> at = {{0, 4}, {4, 4}, {4, 4}, {4, 7}, {7, 8}};
  const size_t first_gtid = gtids_.size() - 5;  // the fixture's setup has GTIDs before A
  for (size_t t = 0; t < 5; ++t) {
    const core::TxnBoundary& begin = bs[2 * t];
    const core::TxnBoundary& commit = bs[2 * t + 1];
    EXPECT_TRUE(begin.begin) << t;
    EXPECT_FALSE(commit.begin) << t;
    EXPECT_EQ(begin.event_index, at[t].first) << t;
    EXPECT_EQ(commit.event_index, at[t].second) << t;
    EXPECT_EQ(begin.id, "0-1-" + std::to_string(first_gtid + t + 1)) << t;
    EXPECT_EQ(commit.id, begin.id) << t;
    EXPECT_GT(begin.ts_ms, 0) << t;
    EXPECT_GE(commit.ts_ms, begin.ts_ms) << t;
  }
  EXPECT_EQ(bs[0].id, batch.txn(0).gtid);  // A's changes carry the same GTID
  EXPECT_EQ(bs[6].id, batch.txn(1).gtid);  // D's

  // A reader of the same process resuming after what was handed over reports nothing twice.
  auto again = NewReader();
  again->SkipEmitted(reader->emitted());
  ASSERT_TRUE(again->Open(At(txn_starts_[0])).ok());
  core::EventBatch repeat;
  ASSERT_TRUE(again->Poll(repeat, core::PollLimits{}).ok());
  EXPECT_TRUE(repeat.events().empty());
  EXPECT_TRUE(repeat.boundaries().empty());
}

TEST_F(MysqlStreamReaderTest, BatchFullMidTransactionCarriesNoCheckpointInsideIt) {
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::PollLimits limits;
  limits.max_events = 5;  // A (4 events) and D's first row
  core::EventBatch first;
  ASSERT_TRUE(reader->Poll(first, limits).ok());
  EXPECT_EQ(first.size(), 5u);
  // Never inside D: the position after C, the last commit read (B and C touched audit only).
  EXPECT_EQ(Checkpoint(first).pos, xid_ends_[2]);
  std::vector<std::string> rest;
  std::vector<BinlogPosition> checkpoints;
  ASSERT_TRUE(Drain(*reader, rest, &checkpoints).ok());
  EXPECT_EQ(rest, std::vector<std::string>(kAll.begin() + 5, kAll.end()));
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_EQ(checkpoints.back().file, "mysql-bin.000002");
  EXPECT_EQ(checkpoints.back().pos, 4u);
}

// The connection drops inside D after the reader handed over D's first row: the pipeline opens
// a new reader at the committed position (after C) with what the old one emitted; D's first
// row is not handed over twice and nothing after it is missing.
TEST_F(MysqlStreamReaderTest, ReconnectMidTransactionResumesWithoutDuplicateOrGap) {
  // The event after D's first WRITE_ROWS (orders 11) is where the connection breaks.
  size_t first_start = 0, drop_at = 0;
  for (size_t i = 0; i < server_.events.size(); ++i) {
    if (server_.events[i].pos == txn_starts_[0]) first_start = i;
    if (server_.events[i].pos > txn_starts_[3] && TypeOf(server_.events[i]) == kWriteRowsV1 &&
        drop_at == 0) {
      drop_at = i + 1;
    }
  }
  ASSERT_GT(drop_at, first_start);
  server_.drop_after = 2 + (drop_at - first_start);  // the artificial ROTATE, the FORMAT_DESCRIPTION

  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::PollLimits one;
  one.max_events = 1;
  std::vector<std::string> events;
  std::vector<BinlogPosition> checkpoints;
  core::Status broke = Drain(*reader, events, &checkpoints, one);
  EXPECT_EQ(broke.code(), core::StatusCode::kUnavailable) << broke.ToString();
  EXPECT_NE(broke.message().find("Lost connection"), std::string::npos) << broke.message();
  EXPECT_NE(broke.message().find(server_.file + ":"), std::string::npos) << broke.message();
  EXPECT_EQ(events, Concat(kTxnA, {kTxnD[0]}));
  ASSERT_FALSE(checkpoints.empty());
  BinlogPosition committed = checkpoints.back();
  EXPECT_EQ(committed.pos, xid_ends_[2]);  // after C: D is still open

  server_.drop_after.reset();
  auto again = NewReader();
  again->SkipEmitted(reader->emitted());
  ASSERT_TRUE(again->Open(committed).ok());
  EXPECT_EQ(server_.opens.back().pos, xid_ends_[2]);
  std::vector<std::string> rest;
  ASSERT_TRUE(Drain(*again, rest).ok());
  EXPECT_EQ(Concat(events, rest), kAll);

  // Without what the first reader handed over, D's first row would arrive twice.
  auto naive = NewReader();
  ASSERT_TRUE(naive->Open(committed).ok());
  std::vector<std::string> replayed;
  ASSERT_TRUE(Drain(*naive, replayed).ok());
  EXPECT_EQ(replayed.front(), kTxnD[0]);
}

// Issue 17: transactions on tables that are not captured still move the committed position,
// at most once per heartbeat period; an idle server then answers kIdle at each heartbeat.
TEST_F(MysqlStreamReaderTest, UncapturedTransactionsAndHeartbeatsAdvanceThePosition) {
  // The server's binlog ends after B and C (audit only).
  while (!server_.events.empty() && server_.events.back().pos >= txn_starts_[3]) {
    server_.events.pop_back();
  }
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(xid_ends_[0])).ok());
  core::PollLimits now;
  now.max_wait = std::chrono::milliseconds(0);  // Poll returns after every event
  std::vector<BinlogPosition> sent;
  std::vector<std::chrono::steady_clock::time_point> sent_at;
  for (int i = 0; i < 40; ++i) {
    core::EventBatch batch;
    auto status = reader->Poll(batch, now);
    ASSERT_TRUE(status.ok()) << status.status().message();
    EXPECT_TRUE(batch.empty());
    if (!batch.checkpoint().empty()) {
      EXPECT_EQ(*status, core::PollStatus::kHaveMore);
      sent.push_back(Checkpoint(batch));
      sent_at.push_back(clock_.Now());
    }
  }
  // B's end at once; C's end (a moment later, same period) held until the next heartbeat.
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].pos, xid_ends_[1]);
  EXPECT_EQ(sent[1].pos, xid_ends_[2]);
  EXPECT_EQ(sent[1].file, server_.file);
  EXPECT_EQ(sent[1].gtid, "0-1-" + std::to_string(gtids_.size() - 2));  // C's GTID
  EXPECT_GE(sent_at[1] - sent_at[0], std::chrono::milliseconds(kHeartbeatMs));
  // Caught up: each heartbeat is kIdle with nothing to send.
  core::EventBatch idle;
  auto status = reader->Poll(idle, core::PollLimits{});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  EXPECT_TRUE(idle.checkpoint().empty());
}

// Poll's contract on a live server (MariadbBinlogStream::WaitReadable): it returns what it read
// as kIdle when nothing more comes within 5 ms between transactions, instead of blocking in the
// next fetch until an event or a heartbeat (an incremental chunk waited for the next transaction to be
// placed, and the stream's lag grew by the gap); with nothing at all it returns at max_wait.
TEST_F(MysqlStreamReaderTest, PollReturnsWhenCaughtUpAndAtMaxWaitWhenIdle) {
  server_.tells_readable = true;
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::PollLimits limits;
  limits.max_wait = std::chrono::milliseconds(200);
  const auto start = clock_.Now();
  core::EventBatch batch;
  auto status = reader->Poll(batch, limits);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_FALSE(batch.empty());
  EXPECT_TRUE(reader->between_transactions());
  EXPECT_EQ(*status, core::PollStatus::kIdle) << "caught up with events: the pipeline may flush";
  EXPECT_EQ(clock_.Now() - start, std::chrono::milliseconds(5))
      << "returned after one 5 ms probe for more, not at max_wait";
  core::EventBatch idle;
  status = reader->Poll(idle, limits);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, core::PollStatus::kIdle);
  EXPECT_TRUE(idle.empty());
  EXPECT_EQ(clock_.Now() - start, std::chrono::milliseconds(205));
}

// Issue 16, Debezium's MySQL source block: "server_id" from the binlog event header, "pos" where
// the row's ROWS event starts and "row" its index in that event, "thread" from the query event
// that ran it (the TRUNCATE; MariaDB DML has a GTID event instead of a BEGIN query: null).
TEST_F(MysqlStreamReaderTest, SourceBlockCarriesServerIdEventPositionRowAndThread) {
  std::vector<uint64_t> rows_events;  // positions of ROWS events (v1 and v2)
  uint64_t truncate_pos = server_.events[server_.events.size() - 2].pos;
  for (const auto& e : server_.events) {
    const uint8_t t = TypeOf(e);
    if (e.pos >= txn_starts_[0] && ((t >= 23 && t <= 25) || (t >= 30 && t <= 32))) {
      rows_events.push_back(e.pos);
    }
  }
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  ASSERT_EQ(batch.events().size(), kAll.size());
  const auto& ev = batch.events();
  // Txn A: customers (1 and 2) in one ROWS event, then orders, then the update.
  EXPECT_EQ(ev[0].source_pos, rows_events[0]);
  EXPECT_EQ(ev[0].source_row, 0u);
  EXPECT_EQ(ev[1].source_pos, rows_events[0]);
  EXPECT_EQ(ev[1].source_row, 1u);
  EXPECT_EQ(ev[2].source_pos, rows_events[1]);
  EXPECT_EQ(ev[2].source_row, 0u);
  EXPECT_EQ(ev[3].source_pos, rows_events[2]);
  EXPECT_GT(ev[0].source_pos, batch.txn(ev[0].txn).pos) << "the event, not the transaction";
  EXPECT_EQ(ev[7].op, core::Op::kTruncate);
  EXPECT_EQ(ev[7].source_pos, truncate_pos);
  // The capture's server ran with --server-id=1.
  for (const auto& txn : batch.txns()) EXPECT_EQ(txn.server_id, 1u);
  EXPECT_EQ(batch.txn(ev[0].txn).thread, -1) << "MariaDB DML: no BEGIN query event";
  EXPECT_GT(batch.txn(ev[7].txn).thread, 0) << "the TRUNCATE's session";

  core::EnvelopeOptions options;
  options.connector = "mysql";
  options.name = "shopdb";
  std::string json;
  core::AppendEnvelopeJson(json, batch, ev[1], options, 0);
  auto source = nlohmann::json::parse(json)["source"];
  EXPECT_EQ(source["server_id"], 1);
  EXPECT_EQ(source["file"], server_.file);
  EXPECT_EQ(source["pos"], rows_events[0]);
  EXPECT_EQ(source["row"], 1);
  EXPECT_TRUE(source["thread"].is_null());
  EXPECT_TRUE(source.contains("query"));
  EXPECT_EQ(source["table"], "customers");
  json.clear();
  core::AppendEnvelopeJson(json, batch, ev[7], options, 0);
  source = nlohmann::json::parse(json)["source"];
  EXPECT_EQ(source["pos"], truncate_pos);
  EXPECT_EQ(source["row"], 0);
  EXPECT_EQ(source["thread"], batch.txn(ev[7].txn).thread);
}

// include.query: each row event carries the SQL of its statement, from MariaDB's ANNOTATE_ROWS
// event (captured with binlog_annotate_row_events=ON, the 10.11 default), stored once per
// statement and batch; without it the source block's query is null.
const std::vector<std::string> kStatements = {
    "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')", "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')",
    "INSERT INTO orders VALUES (10, 1, 9.50)", "UPDATE customers SET name = 'anna' WHERE id = 1",
    "INSERT INTO orders VALUES (11, 2, 1.00)", "INSERT INTO orders VALUES (12, 2, 2.00)",
    "DELETE FROM customers WHERE id = 2", ""};  // the TRUNCATE: a DDL query event, no rows query

TEST_F(MysqlStreamReaderTest, IncludeQueryGivesEachRowItsStatementOncePerStatement) {
  auto reader = NewReader(true);
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  ASSERT_EQ(batch.events().size(), kStatements.size());
  const auto& ev = batch.events();
  for (size_t i = 0; i < ev.size(); ++i) {
    if (kStatements[i].empty()) {
      EXPECT_EQ(ev[i].query, core::kNoQuery) << i;
    } else {
      ASSERT_NE(ev[i].query, core::kNoQuery) << i;
      EXPECT_EQ(batch.query(ev[i].query), kStatements[i]) << i;
    }
  }
  EXPECT_EQ(ev[0].query, ev[1].query) << "rows of one statement share its text";
  EXPECT_EQ(batch.query_count(), 6u) << "one entry per statement, none for the uncaptured audit";

  core::EnvelopeOptions options;
  options.connector = "mysql";
  options.name = "shopdb";
  std::string json;
  core::AppendEnvelopeJson(json, batch, ev[2], options, 0);
  EXPECT_EQ(nlohmann::json::parse(json)["source"]["query"], kStatements[2]);
  EXPECT_NE(json.find("\"thread\":null,\"query\":\"INSERT INTO orders VALUES (10, 1, 9.50)\"}"),
            std::string::npos) << json;
  json.clear();
  core::AppendEnvelopeJson(json, batch, ev[7], options, 0);
  EXPECT_TRUE(nlohmann::json::parse(json)["source"]["query"].is_null());
}

TEST_F(MysqlStreamReaderTest, IncludeQueryCarriesTheStatementIntoTheNextBatch) {
  auto reader = NewReader(true);
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  std::vector<std::string> queries;
  for (int i = 0; i < 100 && queries.size() < kStatements.size(); ++i) {
    core::EventBatch batch;  // one event per batch: customers 1 and 2 come in two batches
    auto status = reader->Poll(batch, core::PollLimits{.max_events = 1});
    ASSERT_TRUE(status.ok()) << status.status().message();
    for (const auto& e : batch.events()) {
      queries.emplace_back(e.query == core::kNoQuery ? std::string_view() : batch.query(e.query));
    }
  }
  EXPECT_EQ(queries, kStatements);
}

TEST_F(MysqlStreamReaderTest, WithoutIncludeQueryNoStatementIsKept) {
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_TRUE(status.ok()) << status.status().message();
  ASSERT_FALSE(batch.events().empty());
  for (const auto& e : batch.events()) EXPECT_EQ(e.query, core::kNoQuery);
  EXPECT_EQ(batch.query_count(), 0u);
}

// Issue 17, retention guardrails: the reader reports when each binlog file was last written, so
// that the sampler can estimate when the server's expiry may purge the file the connector needs:
// the closing ROTATE's timestamp (exact) once the file is done, the newest event before that.
TEST_F(MysqlStreamReaderTest, ReportsWhenEachFileWasLastWritten) {
  const testing::CapturedEvent& rotate = server_.events.back();
  ASSERT_EQ(TypeOf(rotate), kRotate);
  auto ts = [](const testing::CapturedEvent& e) {
    return static_cast<int64_t>(static_cast<uint8_t>(e.bytes[0]) |
                                static_cast<uint8_t>(e.bytes[1]) << 8 |
                                static_cast<uint8_t>(e.bytes[2]) << 16 |
                                static_cast<uint32_t>(static_cast<uint8_t>(e.bytes[3])) << 24);
  };
  ASSERT_GT(ts(rotate), 0);
  BinlogRetention retention;
  retention.SetNeeded(server_.file, xid_ends_[0]);
  auto reader = NewReader();
  reader->TrackRetention(&retention);
  ASSERT_TRUE(reader->Open(At(xid_ends_[0])).ok());
  // One event per Poll: while the file is being read, its newest event so far is reported.
  core::PollLimits one;
  one.max_events = 1;
  one.max_wait = std::chrono::milliseconds(0);
  bool seen_open = false;
  for (int i = 0; i < 200; ++i) {
    core::EventBatch batch;
    auto status = reader->Poll(batch, one);
    ASSERT_TRUE(status.ok()) << status.status().message();
    BinlogNeed need = retention.Need();
    if (!need.closed && need.last_write_unix_s) {
      seen_open = true;
      EXPECT_LE(*need.last_write_unix_s, ts(rotate));
    }
    if (need.closed) break;
  }
  EXPECT_TRUE(seen_open) << "the file being read reports its newest event";
  BinlogNeed need = retention.Need();
  ASSERT_TRUE(need.closed) << "the closing ROTATE was reported";
  ASSERT_TRUE(need.last_write_unix_s.has_value());
  EXPECT_EQ(*need.last_write_unix_s, ts(rotate));
  EXPECT_EQ(need.file, server_.file);
}

// Every event of the capture cut short, or with a flipped byte in its body, is an error naming
// what is wrong and the event's binlog position; never a crash, never a silently shorter
// result. (A flipped byte in the header is caught by the CRC32 too, but the position named is
// then computed from the damaged header's next-position and length.)
TEST_F(MysqlStreamReaderTest, DamagedEventsAreErrorsNamingThePosition) {
  const std::vector<testing::CapturedEvent> events = server_.events;
  size_t checked = 0;
  for (const auto& target : events) {
    if (target.pos < txn_starts_[0]) continue;
    for (int how = 0; how < 3; ++how) {
      server_.damage = [&](uint64_t pos, std::string& bytes) {
        if (pos != target.pos) return;
        if (how == 0) bytes.resize(bytes.size() - 1);          // one byte short
        if (how == 1) bytes.resize(19);                        // the header alone
        if (how == 2) bytes[19 + (bytes.size() - 19) / 2] ^= 0x5a;  // in the body: CRC32 mismatch
      };
      auto reader = NewReader();
      ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
      std::vector<std::string> got;
      core::Status s = Drain(*reader, got);
      const std::string where = server_.file + ":" + std::to_string(target.pos);
      EXPECT_EQ(s.code(), core::StatusCode::kDataLoss) << where << " " << how << ": " << s.ToString();
      EXPECT_NE(s.message().find("malformed binlog event at " + where), std::string::npos)
          << s.message();
      EXPECT_NE(s.message().find(how == 2 ? "CRC32 mismatch" : "differs from the"),
                std::string::npos)
          << s.message();
      ++checked;
    }
  }
  EXPECT_GT(checked, 40u);
}

// A damaged event whose checksum still matches (the bytes were wrong before the server
// checksummed them): the decoder's bounds checks name the event.
TEST_F(MysqlStreamReaderTest, MalformedTableMapWithValidChecksumIsAnError) {
  uint64_t map_pos = 0;
  for (const auto& e : server_.events) {
    if (e.pos > txn_starts_[0] && TypeOf(e) == kTableMap && map_pos == 0) map_pos = e.pos;
  }
  server_.damage = [&](uint64_t pos, std::string& bytes) {
    if (pos != map_pos) return;
    // The schema name's length (after the 6-byte table id and 2 flag bytes) made to run past
    // the event; the CRC32 recomputed.
    bytes[19 + 8] = static_cast<char>(0xff);
    bytes.resize(bytes.size() - 4);
    testing::PutLe(bytes, Crc32(bytes), 4);
  };
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0])).ok());
  std::vector<std::string> got;
  core::Status s = Drain(*reader, got);
  EXPECT_EQ(s.code(), core::StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find(server_.file + ":" + std::to_string(map_pos) + ": TABLE_MAP"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(got.empty());
}

TEST_F(MysqlStreamReaderTest, PurgedBinlogIsFailedPreconditionNamingTheFile) {
  server_.binary_logs = {"mysql-bin.000002"};  // .000001 was purged
  auto reader = NewReader();
  core::Status s = reader->Open(At(txn_starts_[0]));
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("mysql-bin.000001:" + std::to_string(txn_starts_[0])),
            std::string::npos) << s.message();
  EXPECT_NE(s.message().find("purged"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("snapshot.mode=when_needed"), std::string::npos) << s.message();
  EXPECT_TRUE(server_.opens.empty()) << "no dump is started from a purged file";
}

TEST_F(MysqlStreamReaderTest, ServerRefusingThePositionIsFailedPrecondition) {
  // Purged between SHOW BINARY LOGS and the dump, or a position inside an event: error 1236.
  auto reader = NewReader();
  ASSERT_TRUE(reader->Open(At(txn_starts_[0] + 1)).ok());
  core::EventBatch batch;
  auto status = reader->Poll(batch, core::PollLimits{});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), core::StatusCode::kFailedPrecondition);
  const std::string& m = status.status().message();
  EXPECT_NE(m.find("at mysql-bin.000001:" + std::to_string(txn_starts_[0] + 1)), std::string::npos) << m;
  EXPECT_NE(m.find("error 1236"), std::string::npos) << m;
  EXPECT_NE(m.find("purged"), std::string::npos) << m;
}

TEST_F(MysqlStreamReaderTest, RefusedDumpKeepsTheServersError) {
  server_.open_error = core::PermissionDeniedError("Access denied; you need REPLICATION SLAVE");
  auto reader = NewReader();
  core::Status s = reader->Open(At(txn_starts_[0]));
  EXPECT_EQ(s.code(), core::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("REPLICATION SLAVE"), std::string::npos);
}

}  // namespace
}  // namespace sluice::mysql
