// StateStore: the embedded SQLite database (WAL mode) that holds connector configs and their
// desired state, committed source positions, status/error history, and one-shot sync jobs.
// One file; every write is a transaction, so a crash mid-write leaves the previous state.
// Configs are stored as given, passwords included (a ${env:…}/${file:…} reference is stored as
// the reference, core/config_providers.h), so the file and its -wal/-shm/-journal companions are
// created with mode 0600, and Open() narrows an existing file that group or others can read to
// 0600 with a warning.
//
// Thread-safety: thread-safe (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event.h"
#include "core/status.h"

struct sqlite3;

namespace sluice::core {

// Mode of the state file and its SQLite companions: owner read/write only.
inline constexpr unsigned kStateFileMode = 0600;

// Where committed positions live; the pipeline's only view of the state store (tests fake it).
class PositionStore {
 public:
  virtual ~PositionStore() = default;
  virtual Result<std::optional<SourcePosition>> LoadPosition(const std::string& connector) = 0;
  virtual Status SavePosition(const std::string& connector, const SourcePosition& position) = 0;
};

struct StoredConnector {
  std::string name;
  std::string config_json;   // the flat config object, unredacted
  std::string target_state;  // "RUNNING", "PAUSED", "STOPPED"
  int64_t created_unix_ms = 0;
};

struct StatusRecord {
  int64_t ts_unix_ms = 0;
  std::string state;  // RUNNING, FAILED, ...
  std::string trace;  // error text, empty when none
};

struct SyncRecord {
  std::string id;
  std::string config_json;
  std::string state;           // "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
  std::string progress_json;   // last progress snapshot
  std::string result_json;     // summary or error
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
};

class StateStore : public PositionStore {
 public:
  // Opens or creates the file; kFailedPrecondition when it is not a Sluice state file or is
  // locked by another process, kInternal on other SQLite errors.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);
  ~StateStore() override;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& path() const { return path_; }

  // Connectors.
  Status PutConnector(const StoredConnector& connector);  // insert or replace
  Result<std::optional<StoredConnector>> GetConnector(const std::string& name);
  Result<std::vector<StoredConnector>> ListConnectors();
  Status SetTargetState(const std::string& name, const std::string& target_state);
  // Removes the connector, its position and its history.
  Status DeleteConnector(const std::string& name);

  // Positions.
  Result<std::optional<SourcePosition>> LoadPosition(const std::string& connector) override;
  Status SavePosition(const std::string& connector, const SourcePosition& position) override;
  Status ClearPosition(const std::string& connector);

  // Status history (bounded: the newest 100 per connector are kept).
  Status AppendStatus(const std::string& connector, const StatusRecord& record);
  Result<std::vector<StatusRecord>> StatusHistory(const std::string& connector, size_t limit);

  // Sync jobs.
  Status PutSync(const SyncRecord& sync);
  Result<std::optional<SyncRecord>> GetSync(const std::string& id);
  Result<std::vector<SyncRecord>> ListSyncs();

 private:
  StateStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status Exec(const char* sql);

  std::string path_;
  sqlite3* db_;
  std::mutex mu_;
};


}  // namespace sluice::core
