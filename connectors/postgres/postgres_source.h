// The PostgreSQL source connector: a consistent parallel snapshot (SnapshotReader) inside the
// exported snapshot of a pgoutput replication slot, then streaming from the slot's consistent
// point (StreamReader), as one core::Source.
//
// States: starting -> snapshotting -> streaming (or finished for snapshot.mode=initial_only).
// Position: see pg_position.h. Resuming from a streaming position continues after the last
// durable transaction (the slot must still exist: otherwise kFailedPrecondition, or a new
// snapshot with snapshot.mode=when_needed). Resuming from a position taken while a snapshot ran
// restarts the snapshot on a new slot, truncating each table first (see README.md).
//
// Thread-safety: as core::Source (Acknowledge/RequestStop from any thread).
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::pg {

// Every key this connector reads beyond core::CommonConfigKeys() (Debezium's names).
std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakePostgresSource(const core::ConnectorContext& context);

}  // namespace sluice::pg
