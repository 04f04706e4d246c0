// The MySQL/MariaDB source's configuration, parsed once from the connector's config (Debezium's
// key names). SourceConfigKeys() (mysql_source.h) lists them with their defaults and ranges;
// both live in source_config.cc, as the PostgreSQL source's do.
//
// Thread-safety: a value type; the functions are pure.
#pragma once

#include <optional>

#include "connectors/mysql/incremental_window.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "connectors/mysql/snapshot_reader.h"
#include "connectors/mysql/stream_reader.h"
#include "core/config.h"
#include "core/heartbeat_action.h"
#include "core/snapshot_mode.h"

namespace sluice::mysql {

struct SourceConfig {
  ConnectionParams params;
  StreamOptions stream;      // server id, heartbeat, zero dates
  SnapshotOptions snapshot;  // threads, chunk rows, zero dates
  core::SnapshotMode mode = core::SnapshotMode::kInitial;
  CaptureFilter filter;
  int64_t health_interval_ms = 10000;            // binlog.health.interval.ms
  int64_t retained_warn_bytes = int64_t{1} << 30;  // binlog.retained.warn.bytes
  size_t incremental_chunk_rows = 1024;            // incremental.snapshot.chunk.size
  // incremental.snapshot.consistency
  SnapshotConsistency incremental_consistency = SnapshotConsistency::kAuto;
  core::HeartbeatActionSettings heartbeat;     // heartbeat.action.query and its interval
  std::optional<core::TableId> signal_table;  // signal.data.collection (database.table), when set
};

// kInvalidArgument naming the key for a malformed value.
core::Result<SourceConfig> ParseSourceConfig(const core::ConnectorConfig& config);

// The TLS mode: Debezium's database.ssl.mode when set, else database.sslmode (preferred by
// default); kInvalidArgument when both are set to different values.
core::Result<std::string> SslModeFromConfig(const core::ConnectorConfig& config);

// Sets `params`' TLS mode and files from database.ssl.mode/database.sslmode,
// database.sslrootcert, database.sslcert and database.sslkey. kInvalidArgument naming the key
// for a file that cannot be read, a certificate without its key (or the reverse), files with
// TLS disabled, and certificate authorities with a mode that does not verify the server (they
// would be silently unused).
core::Status ApplyTlsConfig(const core::ConnectorConfig& config, ConnectionParams& params);

}  // namespace sluice::mysql
