// Fakes behind the stream reader's seams (connectors/mysql/binlog_stream.h), for hermetic unit
// tests:
//   FakeBinlogServer   the server side, owned by the test: one binlog file's captured events
//                      (tests/testdata/binlog/*.binlog), the files SHOW BINARY LOGS lists, the
//                      tables information_schema describes, a connection drop after N events,
//                      a hook that damages an event's bytes, and the dump requests it received.
//   FakeBinlogStream   the BinlogStream a StreamReader owns. Open(file, pos) replays as a
//                      MariaDB dump thread does: an artificial ROTATE, the file's
//                      FORMAT_DESCRIPTION, then every event from `pos`; past the last event a
//                      heartbeat per fetch, each advancing the test's ManualClock by the
//                      heartbeat period (time passes only while the reader waits). A `pos` where
//                      no event starts fails the first fetch with error 1236, as the server does.
//   FakeBinlogCatalog  the BinlogCatalog: the server's file list, checksum setting and tables.
// Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/mysql/binlog_stream.h"
#include "connectors/mysql/mysql_types.h"
#include "core/clock.h"
#include "tests/connectors/mysql/binlog_capture.h"

namespace sluice::mysql::testing {

inline void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

inline uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

// A column as information_schema describes it.
struct FakeColumn {
  std::string name;
  std::string data_type;    // "int", "varchar", "decimal"
  std::string column_type;  // "int(11)", "varchar(40)", "decimal(10,2)"
  std::string charset;      // "utf8mb4" for text, else empty
  int64_t precision = 0;
  int64_t scale = 0;
};

// A LoadedTable as SchemaLoader::Load builds it for these columns (none excluded).
inline LoadedTable FakeTable(const core::TableId& id, const std::vector<FakeColumn>& columns,
                             const std::vector<uint32_t>& key) {
  LoadedTable out;
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = id;
  schema->database = id.schema;
  for (const FakeColumn& f : columns) {
    InformationSchemaColumn c;
    c.name = f.name;
    c.data_type = f.data_type;
    c.column_type = f.column_type;
    c.charset = f.charset;
    c.numeric_precision = f.precision;
    c.numeric_scale = f.scale;
    core::Column col = MapColumn(c);
    SchemaColumnInfo info;
    info.charset = CharsetKindFromName(c.charset);
    info.is_unsigned = col.is_unsigned;
    schema->columns.push_back(std::move(col));
    out.columns.push_back(std::move(c));
    out.info.push_back(std::move(info));
    out.excluded.push_back(false);
  }
  schema->key = key;
  out.schema = std::move(schema);
  return out;
}

struct FakeBinlogServer {
  explicit FakeBinlogServer(core::ManualClock* c) : clock(c) {}

  core::ManualClock* clock;
  std::string file = "mysql-bin.000001";
  std::vector<CapturedEvent> events;           // of `file`, FORMAT_DESCRIPTION first
  std::vector<std::string> binary_logs = {"mysql-bin.000001"};
  bool checksum = true;
  std::map<core::TableId, LoadedTable> tables;
  size_t loads = 0;                             // catalog Load() calls
  core::Status load_error = core::Status::Ok();  // every Load() fails with it when set
  core::Status open_error = core::Status::Ok();
  std::optional<size_t> drop_after;             // fetches fail after this many more events
  FetchFailure drop_failure{2013, "Lost connection to server during query", 0, "", false, 0, 0, 0};
  // Called with each replayed event's start position and bytes (may change or cut them).
  std::function<void(uint64_t pos, std::string& bytes)> damage;
  std::vector<BinlogDumpRequest> opens;
  // WaitReadable answers like MariadbBinlogStream: true while replayed events remain, else the
  // wait passes on the clock and says false (the heartbeat comes at the next Fetch). Off: the
  // interface's default (always true, Fetch blocks).
  bool tells_readable = false;
};

class FakeBinlogStream final : public BinlogStream {
 public:
  explicit FakeBinlogStream(FakeBinlogServer* server) : server_(server) {}

  core::Status Open(const BinlogDumpRequest& request) override {
    server_->opens.push_back(request);
    if (!server_->open_error.ok()) return server_->open_error;
    heartbeat_ms_ = request.heartbeat_ms;
    std::string body;
    PutLe(body, request.pos, 8);
    body += request.file;
    queue_.push_back(Event(4 /* ROTATE */, body, 0, 0x20));
    if (server_->events.empty()) return core::Status::Ok();
    queue_.push_back(server_->events[0].bytes);  // FORMAT_DESCRIPTION
    bool found = request.pos == 4 || request.pos == End();
    for (const CapturedEvent& e : server_->events) {
      if (e.pos == request.pos) found = true;
      if (e.pos >= request.pos && e.pos > 4) queue_.push_back(e.bytes);
    }
    if (!found) {
      queue_.clear();
      refuse_ = true;
    }
    return core::Status::Ok();
  }

  bool Fetch(FetchedEvent& out) override {
    if (refuse_) {
      failure_ = {0, "", 1236, "Client requested master to start replication from impossible "
                               "position", false, 0, 0, 0};
      return false;
    }
    if (server_->drop_after && *server_->drop_after == 0) {
      failure_ = server_->drop_failure;
      return false;
    }
    if (server_->drop_after) --*server_->drop_after;
    if (next_ < queue_.size()) {
      current_ = queue_[next_++];
      if (server_->damage && current_.size() >= 19) {
        uint64_t next_pos = GetLe(current_, 13, 4);
        uint64_t length = GetLe(current_, 9, 4);
        if (next_pos >= length) server_->damage(next_pos - length, current_);
      }
    } else {
      // Caught up: the server sends a heartbeat after each quiet period.
      server_->clock->Advance(std::chrono::milliseconds(heartbeat_ms_));
      current_ = Event(27 /* HEARTBEAT */, server_->file, End(), 0x20);
    }
    out.raw = current_;
    out.type = current_.size() > 4 ? static_cast<uint8_t>(current_[4]) : 0;
    out.length = current_.size() >= 13 ? static_cast<uint32_t>(GetLe(current_, 9, 4)) : 0;
    out.next_pos = current_.size() >= 17 ? GetLe(current_, 13, 4) : 0;
    out.flags = current_.size() >= 19 ? static_cast<uint16_t>(GetLe(current_, 17, 2)) : 0;
    return true;
  }

  FetchFailure Failure() override { return failure_; }
  void Cancel() override {}
  bool WaitReadable(std::chrono::milliseconds timeout) override {
    if (!server_->tells_readable || refuse_ || next_ < queue_.size()) return true;
    server_->clock->Advance(timeout);
    return false;
  }

 private:
  // An event the server makes up (no checksum verified: artificial or a heartbeat).
  std::string Event(uint8_t type, const std::string& body, uint64_t next_pos, uint16_t flags) {
    std::string e;
    PutLe(e, 0, 4);  // timestamp
    e += static_cast<char>(type);
    PutLe(e, 1, 4);  // server id
    PutLe(e, 19 + body.size() + (server_->checksum ? 4 : 0), 4);
    PutLe(e, next_pos, 4);
    PutLe(e, flags, 2);
    e += body;
    if (server_->checksum) PutLe(e, 0, 4);
    return e;
  }
  uint64_t End() const {
    return server_->events.empty() ? 4
                                   : server_->events.back().pos + server_->events.back().bytes.size();
  }

  FakeBinlogServer* server_;
  std::vector<std::string> queue_;
  size_t next_ = 0;
  bool refuse_ = false;
  int heartbeat_ms_ = 1000;
  std::string current_;
  FetchFailure failure_;
};

class FakeBinlogCatalog final : public BinlogCatalog {
 public:
  explicit FakeBinlogCatalog(FakeBinlogServer* server) : server_(server) {}
  core::Status Connect(int) override { return core::Status::Ok(); }
  core::Result<std::vector<std::string>> BinaryLogs() override { return server_->binary_logs; }
  core::Result<bool> ChecksumEnabled() override { return server_->checksum; }
  core::Result<LoadedTable> Load(const core::TableId& id, uint64_t version) override {
    ++server_->loads;
    if (!server_->load_error.ok()) return server_->load_error;
    auto it = server_->tables.find(id);
    if (it == server_->tables.end()) return core::NotFoundError("table " + id.ToString() + " not found");
    LoadedTable out = it->second;
    auto schema = std::make_shared<core::TableSchema>(*out.schema);
    schema->version = version;
    out.schema = std::move(schema);
    return out;
  }

 private:
  FakeBinlogServer* server_;
};

}  // namespace sluice::mysql::testing
