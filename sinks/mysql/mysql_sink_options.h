// MysqlSinkOptions: the MySQL sink's settings, parsed from the connector configuration by
// MysqlSinkOptionsFromConfig (mysql_sink.cc) and read by the parts below it (TableCatalog). Its
// own header so that nothing in sinks/mysql includes back up into mysql_sink.h.
//
// A plain value; thread-safe to read.
#pragma once

#include <cstddef>
#include <string>

#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_types.h"

namespace sluice::sinks::mysql_sink {

enum class DropColumns { kKeep, kDrop };

struct MysqlSinkOptions {
  MysqlUrl url;
  std::string connector_name = "sluice";   // row key in the offsets table
  std::string offsets_table = "sluice_offsets";
  std::string table_name_format;           // empty: ${table}
  DropColumns drop_columns = DropColumns::kKeep;
  TypeOptions types;
  size_t max_statement_bytes = 4u << 20;   // lowered to max_allowed_packet / 2 when smaller
};

}  // namespace sluice::sinks::mysql_sink
