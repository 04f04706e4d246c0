// The MySQL/MariaDB source connector: a consistent snapshot (SnapshotReader) followed by binlog
// streaming (StreamReader) from the snapshot's binlog position, as one core::Source.
//
// States: starting -> snapshotting -> streaming (or finished for snapshot.mode=initial_only).
// Positions: see mysql_position.h. Resuming from a streaming position continues after the last
// committed transaction; resuming from a position taken while a snapshot ran restarts the
// snapshot (each table is truncated, then re-read); a purged binlog is kFailedPrecondition, or a
// new snapshot with snapshot.mode=when_needed.
//
// Thread-safety: as core::Source (Acknowledge/RequestStop from any thread).
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::mysql {

// Every key this connector reads beyond core::CommonConfigKeys() (Debezium's names).
std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakeMysqlSource(const core::ConnectorContext& context);

}  // namespace sluice::mysql
