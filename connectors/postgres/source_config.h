// The PostgreSQL source's configuration, parsed once from the connector's config (Debezium's
// key names). SourceConfigKeys() (postgres_source.h) lists them with their defaults and ranges;
// both live in source_config.cc.
//
// Thread-safety: a value type; the functions are pure.
#pragma once

#include <optional>
#include <string>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/replica_identity.h"
#include "connectors/postgres/snapshot_reader.h"
#include "connectors/postgres/stream_reader.h"
#include "core/config.h"
#include "core/heartbeat_action.h"
#include "core/snapshot_mode.h"
#include "core/table_filter.h"

namespace sluice::pg {

struct SourceConfig {
  ConnectionParams params;
  std::string publication_mode = "filtered";  // publication.autocreate.mode
  core::SnapshotMode mode = core::SnapshotMode::kInitial;
  bool drop_on_stop = false;                  // slot.drop.on.stop
  int64_t slot_health_interval_ms = 10000;    // slot.health.interval.ms
  int64_t slot_warn_bytes = int64_t{1} << 30;  // slot.retained.warn.bytes
  int64_t slot_max_retained_bytes = 0;         // slot.max.retained.wal; 0: no limit
  int64_t xmin_fetch_interval_ms = 0;          // xmin.fetch.interval.ms; 0: source.xmin null
  core::HeartbeatActionSettings heartbeat;      // heartbeat.action.query and its interval
  std::vector<ReplicaIdentityRule> replica_identity_rules;  // replica.identity.autoset.values
  SnapshotOptions snapshot;
  size_t incremental_chunk_rows = 1024;       // incremental.snapshot.chunk.size
  std::optional<core::TableId> signal_table;  // signal.data.collection, when set
  StreamOptions stream;  // slot and publication are filled in once the names are resolved
  core::TableFilter filter;
};

// kInvalidArgument naming the key for a missing database.dbname or a malformed value.
core::Result<SourceConfig> ParseSourceConfig(const core::ConnectorConfig& config);

}  // namespace sluice::pg
