// The fixture of the StreamReader tests without a server: the binlog MariaDB 10.11 wrote for
// stream_fixture.sql (tests/testdata/binlog/stream.binlog, made by capture_stream.sh) replayed
// through FakeBinlogStream, tables described by FakeBinlogCatalog, time from a ManualClock.
// Used by stream_reader_test.cc (rows, transactions, positions, damage) and
// stream_schema_change_test.cc (include.schema.changes).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "connectors/mysql/stream_reader.h"
#include "tests/common/render_events.h"
#include "tests/connectors/mysql/fake_binlog_stream.h"

namespace sluice::mysql::stream_test {


using testing::FakeBinlogCatalog;
using testing::FakeBinlogServer;
using testing::FakeBinlogStream;
using testing::FakeColumn;
using testing::FakeTable;

inline constexpr uint8_t kGtid = 162;       // MariaDB GTID_EVENT
inline constexpr uint8_t kXid = 16;
inline constexpr uint8_t kQuery = 2;
inline constexpr uint8_t kTableMap = 19;
inline constexpr uint8_t kWriteRowsV1 = 23;
inline constexpr uint8_t kRotate = 4;

inline uint8_t TypeOf(const testing::CapturedEvent& e) { return static_cast<uint8_t>(e.bytes[4]); }
inline uint64_t EndOf(const testing::CapturedEvent& e) { return e.pos + e.bytes.size(); }

// One event as text: "c shop.orders (10,1,9.50)", "d shop.customers (2,bob)->", "t shop.orders".
inline std::string Render(const core::EventBatch& batch, const core::ChangeEvent& e) {
  return sluice::testing::RenderEvent(batch, e);
}

inline BinlogPosition Checkpoint(const core::EventBatch& batch) {
  if (batch.checkpoint().empty()) return {};
  auto p = BinlogPosition::Parse(batch.checkpoint().value);
  EXPECT_TRUE(p.ok()) << batch.checkpoint().value;
  return p.ok() ? *p : BinlogPosition{};
}

inline const std::vector<std::string> kTxnA = {
    "c shop.customers (1,ann)", "c shop.customers (2,bob)", "c shop.orders (10,1,9.50)",
    "u shop.customers (1,ann)->(1,anna)"};
inline const std::vector<std::string> kTxnD = {
    "c shop.orders (11,2,1.00)", "c shop.orders (12,2,2.00)", "d shop.customers (2,bob)->"};

inline std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
// From the start of txn A to the end of the capture.
inline const std::vector<std::string> kAll = Concat(Concat(kTxnA, kTxnD), {"t shop.orders"});

class MysqlStreamReaderTest : public ::testing::Test {
 protected:
  MysqlStreamReaderTest() : server_(&clock_) {
    server_.events = testing::LoadBinlog("stream.binlog");
    for (size_t i = 0; i < server_.events.size(); ++i) {
      const auto& e = server_.events[i];
      if (TypeOf(e) == kGtid) gtids_.push_back(i);
      if (TypeOf(e) == kXid) xid_ends_.push_back(EndOf(e));
    }
    // Transactions A, B, C, D are the four that end with an XID; A starts at the GTID before
    // its first TABLE_MAP.
    for (size_t g : gtids_) {
      if (g + 1 < server_.events.size() && TypeOf(server_.events[g + 1]) != kQuery) {
        txn_starts_.push_back(server_.events[g].pos);
      }
    }
    server_.tables[{"shop", "customers"}] = FakeTable(
        {"shop", "customers"},
        {{"id", "int", "int(11)", "", 10, 0}, {"name", "varchar", "varchar(40)", "utf8mb4", 0, 0}},
        {0});
    server_.tables[{"shop", "orders"}] = FakeTable(
        {"shop", "orders"},
        {{"id", "int", "int(11)", "", 10, 0}, {"customer_id", "int", "int(11)", "", 10, 0},
         {"amount", "decimal", "decimal(10,2)", "", 10, 2}},
        {0});
    server_.tables[{"shop", "audit"}] = FakeTable(
        {"shop", "audit"},
        {{"id", "int", "int(11)", "", 10, 0}, {"note", "varchar", "varchar(40)", "utf8mb4", 0, 0}},
        {0});
    core::ConnectorConfig config(
        "x", {{"table.include.list", "shop\\.customers,shop\\.orders"}});
    auto filter = CaptureFilter::FromConfig(config);
    EXPECT_TRUE(filter.ok()) << filter.status().message();
    if (filter.ok()) filter_ = std::move(*filter);
  }

  std::unique_ptr<StreamReader> NewReader(bool include_query = false) {
    StreamOptions options;
    options.include_query = include_query;
    options.server_id = 5401;
    options.heartbeat_ms = kHeartbeatMs;
    return std::make_unique<StreamReader>(std::make_unique<FakeBinlogStream>(&server_),
                                          std::make_unique<FakeBinlogCatalog>(&server_), &filter_,
                                          options, logger_, &clock_);
  }
  BinlogPosition At(uint64_t pos) { return {server_.file, pos, "", false}; }

  // Polls until the reader is idle or fails; the events and checkpoints of successful polls.
  core::Status Drain(StreamReader& reader, std::vector<std::string>& events,
                     std::vector<BinlogPosition>* checkpoints = nullptr,
                     core::PollLimits limits = {}) {
    for (int i = 0; i < 1000; ++i) {
      core::EventBatch batch;
      auto status = reader.Poll(batch, limits);
      if (!status.ok()) return status.status();
      for (const auto& e : batch.events()) events.push_back(Render(batch, e));
      if (checkpoints && !batch.checkpoint().empty()) checkpoints->push_back(Checkpoint(batch));
      if (*status == core::PollStatus::kIdle && batch.empty() && batch.checkpoint().empty()) {
        return core::Status::Ok();
      }
    }
    return core::InternalError("the reader never went idle");
  }

  static constexpr int kHeartbeatMs = 1000;
  core::ManualClock clock_;
  FakeBinlogServer server_;
  CaptureFilter filter_;
  std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
      "mysql-stream-reader-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  std::vector<size_t> gtids_;          // indexes of GTID events
  std::vector<uint64_t> xid_ends_;     // where transactions A, B, C, D end
  std::vector<uint64_t> txn_starts_;   // where A, B, C, D begin (their GTID event)
};

}  // namespace sluice::mysql::stream_test
