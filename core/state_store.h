// StateStore: what Sluice keeps between runs — connector configs and their desired state,
// committed source positions, status/error history, and one-shot sync jobs. An interface: the
// single-process service uses SqliteStateStore (core/sqlite_state_store.h, one embedded file);
// cluster mode will keep the same records in Kafka topics behind this same interface. Every
// implementation passes tests/core/state_store_conformance_test.cc.
//
// Contract for every implementation:
//   - configs are stored as given, passwords included (a ${env:…}/${file:…} reference is stored
//     as the reference, core/config_providers.h): the storage must be readable by its owner only;
//   - each call is atomic: a crash mid-call leaves the state of before or after the call;
//   - DeleteConnector removes the connector, its position and its history together;
//   - status history is bounded: the newest kStatusHistoryMax records per connector are kept;
//   - thread-safe: any call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::core {

// Where committed positions live; the pipeline's only view of the state store (tests fake it).
class PositionStore {
 public:
  virtual ~PositionStore() = default;
  virtual Result<std::optional<SourcePosition>> LoadPosition(const std::string& connector) = 0;
  virtual Status SavePosition(const std::string& connector, const SourcePosition& position) = 0;
  // A copy of a position the sink also stores with the data (Sink::StoresPosition): the
  // pipeline resumes from the sink's, so this copy may be lost with a power failure (not with a
  // process crash) and need not wait for the disk. Default: SavePosition.
  virtual Status SavePositionCopy(const std::string& connector, const SourcePosition& position) {
    return SavePosition(connector, position);
  }
};

struct StoredConnector {
  std::string name;
  std::string config_json;   // the flat config object, unredacted
  std::string target_state;  // "RUNNING", "PAUSED", "STOPPED"
  int64_t created_unix_ms = 0;  // 0 on PutConnector: now (kept when the connector exists)
};

struct StatusRecord {
  int64_t ts_unix_ms = 0;  // 0 on AppendStatus: now
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

// Status records kept per connector.
inline constexpr size_t kStatusHistoryMax = 100;

class StateStore : public PositionStore {
 public:
  ~StateStore() override = default;

  // Connectors.
  // Inserts, or replaces config and target state of an existing connector (its creation time
  // stays).
  virtual Status PutConnector(const StoredConnector& connector) = 0;
  virtual Result<std::optional<StoredConnector>> GetConnector(const std::string& name) = 0;
  // Ordered by name.
  virtual Result<std::vector<StoredConnector>> ListConnectors() = 0;
  // No-op for an unknown connector.
  virtual Status SetTargetState(const std::string& name, const std::string& target_state) = 0;
  // Removes the connector, its position and its history.
  virtual Status DeleteConnector(const std::string& name) = 0;

  // Positions (LoadPosition/SavePosition from PositionStore).
  virtual Status ClearPosition(const std::string& connector) = 0;

  // Status history, newest first, at most `limit` records.
  virtual Status AppendStatus(const std::string& connector, const StatusRecord& record) = 0;
  virtual Result<std::vector<StatusRecord>> StatusHistory(const std::string& connector,
                                                          size_t limit) = 0;

  // Sync jobs. PutSync inserts or replaces by id; ListSyncs orders by start time, then id.
  virtual Status PutSync(const SyncRecord& sync) = 0;
  virtual Result<std::optional<SyncRecord>> GetSync(const std::string& id) = 0;
  virtual Result<std::vector<SyncRecord>> ListSyncs() = 0;
};

}  // namespace sluice::core
