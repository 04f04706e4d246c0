// SqliteStateStore: the StateStore (core/state_store.h) of the single-process service, an
// embedded SQLite database in WAL mode. One file; every write is a transaction, so a crash
// mid-write leaves the previous state. The file holds configs with their passwords, so it and
// its -wal/-shm/-journal companions are created with mode 0600, and Open() narrows an existing
// file that group or others can read to 0600 with a warning.
//
// Thread-safety: thread-safe (one connection behind a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/state_store.h"

struct sqlite3;

namespace sluice::core {

// Mode of the state file and its SQLite companions: owner read/write only.
inline constexpr unsigned kStateFileMode = 0600;

class SqliteStateStore final : public StateStore {
 public:
  // Opens or creates the file; kFailedPrecondition when it is not a Sluice state file or is
  // locked by another process, kInternal on other SQLite errors.
  static Result<std::unique_ptr<SqliteStateStore>> Open(const std::string& path);
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  const std::string& path() const { return path_; }

  Status PutConnector(const StoredConnector& connector) override;
  Result<std::optional<StoredConnector>> GetConnector(const std::string& name) override;
  Result<std::vector<StoredConnector>> ListConnectors() override;
  Status SetTargetState(const std::string& name, const std::string& target_state) override;
  Status DeleteConnector(const std::string& name) override;

  Result<std::optional<SourcePosition>> LoadPosition(const std::string& connector) override;
  Status SavePosition(const std::string& connector, const SourcePosition& position) override;
  // Committed with synchronous=NORMAL (the WAL reaches the OS, not the disk; the next FULL
  // commit or checkpoint syncs it).
  Status SavePositionCopy(const std::string& connector, const SourcePosition& position) override;
  Status ClearPosition(const std::string& connector) override;

  Status AppendStatus(const std::string& connector, const StatusRecord& record) override;
  Result<std::vector<StatusRecord>> StatusHistory(const std::string& connector,
                                                  size_t limit) override;

  Status PutSync(const SyncRecord& sync) override;
  Result<std::optional<SyncRecord>> GetSync(const std::string& id) override;
  Result<std::vector<SyncRecord>> ListSyncs() override;

 private:
  SqliteStateStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status Exec(const char* sql);
  Status WritePosition(const std::string& connector, const SourcePosition& position);  // mu_ held

  std::string path_;
  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace sluice::core
