// PostgresSinkOptions: the PostgreSQL sink's settings, parsed from the connector configuration
// by MakePostgresSink (postgres_sink.cc) and read by the parts below it. Its own header so that
// nothing in sinks/postgres includes back up into postgres_sink.h.
//
// A plain value; thread-safe to read.
#pragma once

#include <string>

namespace sluice::sinks {

struct PostgresSinkOptions {
  std::string url;                         // sink.url
  std::string connector_name;              // keys the row in the offsets table
  std::string offsets_table = "sluice_offsets";  // sink.offsets.table ("schema.table" allowed)
  std::string table_name_format;           // sink.table.name.format
  bool drop_columns = false;               // sink.columns.drop=drop
  bool pg_source = false;                  // connector.class=postgres: keep source types
  // Tables created for a snapshot get their primary key after their rows are loaded (sorted
  // index build instead of one insertion per row). Only for sources whose snapshot rows arrive
  // exactly once per run (postgres, mysql): a row delivered twice would break the key build.
  bool defer_snapshot_keys = false;
  std::string key_build_memory = "256MB";  // maintenance_work_mem for those key builds
};

}  // namespace sluice::sinks
