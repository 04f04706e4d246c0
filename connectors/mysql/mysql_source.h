// The MySQL/MariaDB source connector: a consistent snapshot (SnapshotReader) followed by binlog
// streaming (StreamReader) from the snapshot's binlog position, as one core::Source.
//
// States: starting -> snapshotting -> streaming (or finished for snapshot.mode=initial_only),
// moved through by SourcePhases (source_phases.h) over the PhaseIo the source implements.
// Positions: see mysql_position.h. Resuming from a streaming position continues after the last
// committed transaction; resuming from a position taken while a snapshot ran restarts the
// snapshot (each table is truncated, then re-read); a purged binlog is kFailedPrecondition, or a
// new snapshot with snapshot.mode=when_needed.
//
// Thread-safety: as core::Source (Acknowledge/RequestStop from any thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::mysql {

// Every key this connector reads beyond core::CommonConfigKeys() (Debezium's names).
std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakeMysqlSource(const core::ConnectorContext& context);

// The server variables the start-up check reads (SHOW GLOBAL VARIABLES); a variable the server
// does not have (MariaDB has no binlog_transaction_compression, MySQL no log_bin_compress) is
// simply absent.
std::vector<std::string> CheckedServerVariables();

// Pure: OK when the server's binlog settings (variable name -> value, as SHOW GLOBAL VARIABLES
// prints them) let this connector read every change; else kFailedPrecondition naming the
// setting and the fix: log_bin off, binlog_format other than ROW, binlog_row_image other than
// FULL, log_bin_compress=ON (MariaDB compressed events), binlog_transaction_compression=ON
// (MySQL 8 TRANSACTION_PAYLOAD events), binlog_row_value_options=PARTIAL_JSON (MySQL 8
// partial JSON updates); with `include_query` (include.query=true) also the statement logging
// its server has: binlog_annotate_row_events (MariaDB) or binlog_rows_query_log_events (MySQL)
// off.
core::Status CheckBinlogSettings(const std::map<std::string, std::string>& variables,
                                 bool include_query = false);

}  // namespace sluice::mysql
