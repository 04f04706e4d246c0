// ReplicationStream: the seam between StreamReader and a logical replication connection — the
// calls the reader makes per CopyData message or per wait, never per value. PgReplicationStream
// is the libpq implementation; unit tests replay captured bytes through a fake
// (tests/connectors/postgres/fake_replication_stream.h).
//
// Protocol: PostgreSQL 15 documentation, "55.4 Streaming Replication Protocol" (START_REPLICATION
// enters CopyBoth mode; the server sends XLogData / keepalive CopyData messages, the client
// standby status updates).
//
// Lifecycle: Start() once, then TryRead()/Wait()/Send() from the reader's thread; Wake() from any
// thread. The destructor closes the connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/postgres/pg_connection.h"
#include "core/status.h"

namespace sluice::pg {

class ReplicationStream {
 public:
  virtual ~ReplicationStream() = default;

  // Runs `command` (START_REPLICATION …) and enters CopyBoth mode. A refusal is the server's
  // error coded by ClassifySqlState, its message kept (the reader adds what to do).
  virtual core::Status Start(const std::string& command) = 0;

  // The next CopyData message, without blocking: true with `message` (valid until the next
  // call), false when no whole message is buffered yet. kUnavailable when the server ended the
  // stream or the connection broke (the pipeline reconnects from the last durable position).
  virtual core::Result<bool> TryRead(std::string_view& message) = 0;

  // Blocks up to `timeout` until data arrives or Wake() is called, then buffers what arrived:
  // true when something happened, false when the time ran out. kUnavailable when the
  // connection broke.
  virtual core::Result<bool> Wait(std::chrono::milliseconds timeout) = 0;

  // Makes a running or the next Wait() return at once. Any thread.
  virtual void Wake() = 0;

  // Sends one CopyData message (a standby status update) and flushes it. kUnavailable when the
  // connection broke.
  virtual core::Status Send(std::string_view message) = 0;
};

// Over a connected replication connection (replication=database). Waits wake up through an
// eventfd; while a backlog streams in, the socket's receive low-water mark is raised so that the
// reader wakes once per 64 KiB instead of once per message (see replication_stream.cc).
class PgReplicationStream final : public ReplicationStream {
 public:
  // `slot` names the stream in error messages.
  PgReplicationStream(std::unique_ptr<PgConnection> conn, std::string slot);
  ~PgReplicationStream() override;

  core::Status Start(const std::string& command) override;
  core::Result<bool> TryRead(std::string_view& message) override;
  core::Result<bool> Wait(std::chrono::milliseconds timeout) override;
  void Wake() override;
  core::Status Send(std::string_view message) override;

 private:
  void SetBulk(bool on);

  std::unique_ptr<PgConnection> conn_;
  std::string slot_;
  int wake_fd_ = -1;
  bool bulk_ = false;
  std::unique_ptr<char, void (*)(void*)> buffer_{nullptr, PQfreemem};
};

}  // namespace sluice::pg
