// Fakes behind the stream reader's seams, for hermetic unit tests:
//   FakeWalSender          the server side of a replication stream, owned by the test: the
//                          CopyData messages it will send (captured pgoutput bytes wrapped in
//                          XLogData frames, keepalives), a connection drop after N messages,
//                          and the standby status updates it received.
//   FakeReplicationStream  the ReplicationStream a StreamReader owns, talking to a FakeWalSender.
//                          Wait() with nothing to read advances the test's ManualClock by the
//                          whole timeout (time passes only while the reader waits).
//   FakeRelationCatalog    describes Relation messages without a server: built-in types only,
//                          format_type text made from the oid and typmod, key = the message's
//                          replica identity flags.
// Single-threaded, except Wake().
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/pgoutput_decoder.h"
#include "connectors/postgres/replication_stream.h"
#include "core/clock.h"

namespace sluice::pg::testing {

inline void PutInt64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>((v >> (i * 8)) & 0xff);
}

inline uint64_t GetInt64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

// A standby status update ('r') as the server reads it.
struct StatusUpdate {
  uint64_t write_lsn = 0;
  uint64_t flush_lsn = 0;
  uint64_t apply_lsn = 0;
  bool reply_requested = false;
};

struct FakeWalSender {
  explicit FakeWalSender(core::ManualClock* c) : clock(c) {}

  // An XLogData frame carrying `payload` (a pgoutput message) written at `wal_start`.
  void XLogData(uint64_t wal_start, const std::string& payload) {
    std::string f = "w";
    PutInt64(f, wal_start);
    PutInt64(f, wal_start);  // the server's WAL end: at least this message
    PutInt64(f, 0);
    pending.push_back(f + payload);
  }
  void Keepalive(uint64_t wal_end, bool reply_requested) {
    std::string f = "k";
    PutInt64(f, wal_end);
    PutInt64(f, 0);
    f += reply_requested ? '\1' : '\0';
    pending.push_back(f);
  }
  // The status updates received, decoded; a message that is not one fails the test.
  std::vector<StatusUpdate> Updates() const {
    std::vector<StatusUpdate> out;
    for (const std::string& m : sent) {
      EXPECT_EQ(m.size(), 34u);
      EXPECT_EQ(m[0], 'r');
      if (m.size() != 34 || m[0] != 'r') continue;
      out.push_back({GetInt64(m, 1), GetInt64(m, 9), GetInt64(m, 17), m[33] != 0});
    }
    return out;
  }

  core::ManualClock* clock;
  std::deque<std::string> pending;      // CopyData messages still to send
  std::optional<size_t> drop_after;     // the connection breaks after this many more messages
  core::Status start_error = core::Status::Ok();
  std::string start_command;
  std::vector<std::string> sent;        // CopyData messages from the client
  std::atomic<bool> woken{false};
  bool broken = false;
  // Runs at the start of every Wait: the walsender sending more while the reader waits.
  std::function<void()> on_wait;
};

class FakeReplicationStream final : public ReplicationStream {
 public:
  explicit FakeReplicationStream(FakeWalSender* server) : server_(server) {}

  core::Status Start(const std::string& command) override {
    server_->start_command = command;
    return server_->start_error;
  }
  core::Result<bool> TryRead(std::string_view& message) override {
    if (server_->broken) return core::UnavailableError("fake replication connection lost");
    if (server_->pending.empty()) return false;
    if (server_->drop_after && (*server_->drop_after)-- == 0) {
      server_->broken = true;
      return core::UnavailableError("fake replication connection lost");
    }
    current_ = std::move(server_->pending.front());
    server_->pending.pop_front();
    message = current_;
    return true;
  }
  core::Result<bool> Wait(std::chrono::milliseconds timeout) override {
    if (server_->broken) return core::UnavailableError("fake replication connection lost");
    if (server_->on_wait) server_->on_wait();
    if (server_->woken.exchange(false) || !server_->pending.empty()) return true;
    server_->clock->Advance(timeout);
    return false;
  }
  void Wake() override { server_->woken.store(true); }
  core::Status Send(std::string_view message) override {
    if (server_->broken) return core::UnavailableError("fake replication connection lost");
    server_->sent.emplace_back(message);
    return core::Status::Ok();
  }

 private:
  FakeWalSender* server_;
  std::string current_;
};

class FakeRelationCatalog final : public RelationCatalog {
 public:
  explicit FakeRelationCatalog(SchemaCache* cache, std::string database = "shop")
      : cache_(cache), database_(std::move(database)) {}

  core::Status Open() override { return core::Status::Ok(); }
  core::Result<RelationInfo> Describe(const PgoutputMessage& m) override {
    RelationInfo info;
    info.relid = m.relid;
    info.replident = m.replident;
    core::TableSchema schema;
    schema.id = {m.nspname, m.relname};
    schema.database = database_;
    TypeResolver types(nullptr);  // built-in types need no server
    for (const RelationColumn& rc : m.columns) {
      core::Column col;
      ColumnCodec codec;
      col.name = rc.name;
      SLUICE_RETURN_IF_ERROR(types.Describe(rc.type_oid, rc.typmod, FormatType(rc), col, codec));
      info.source_key.push_back(rc.key);
      info.column_of.push_back(static_cast<int>(schema.columns.size()));
      if (rc.key) schema.key.push_back(static_cast<uint32_t>(schema.columns.size()));
      schema.columns.push_back(std::move(col));
      info.codecs.push_back(codec);
    }
    info.schema = cache_->Intern(std::move(schema));
    return info;
  }
  void TypesChanged() override { ++types_changed; }

  int types_changed = 0;

 private:
  static std::string FormatType(const RelationColumn& c) {
    switch (c.type_oid) {
      case 23: return "integer";
      case 25: return "text";
      case 1700:
        return c.typmod < 4 ? "numeric"
                            : "numeric(" + std::to_string((c.typmod - 4) >> 16) + "," +
                                  std::to_string((c.typmod - 4) & 0xffff) + ")";
      default: return "oid " + std::to_string(c.type_oid);
    }
  }
  SchemaCache* cache_;
  std::string database_;
};

}  // namespace sluice::pg::testing
