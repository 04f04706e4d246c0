// MysqlVerifySide: one side of a verification (core/verify.h) on MySQL/MariaDB, read through the
// source connector's schema loader (mysql_schema.h) and the snapshot reader's fix-ups of the text
// protocol, so that values arrive in the same canonical text a snapshot gives.
//
// Digest: COUNT(*) and the SUM of the first 64 bits of MD5 over each row's columns (NULL marked
// apart from every text), computed by the server. Reads: streamed SELECTs of the range.
// Not covered: text columns in character sets other than utf8/utf8mb4/latin1/ascii are read as
// the server converts them to utf8mb4 (the snapshot reader converts them itself).
//
// Lifecycle: Connect(), then the VerifySide calls. Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/verify_sql.h"

namespace sluice::mysql {

class MysqlVerifySide final : public core::SqlVerifySide<LoadedTable> {
 public:
  // `filter`: the source connector's filters; for a target, CaptureFilter::FromConfig of an
  // empty config (everything).
  MysqlVerifySide(ConnectionParams params, CaptureFilter filter);

  core::Status Connect();
  core::Result<std::vector<core::TableId>> ListTables();

  std::string engine() const override { return "mysql"; }
  core::Status ReadRows(const core::TableId& table, const std::vector<uint32_t>& columns,
                        uint32_t key, const core::KeyRange& range, core::EventBatch& out) override;

  MysqlConnection& connection() { return conn_; }

 private:
  std::string Quote(std::string_view name) const override;
  core::Result<core::TextRows> QueryText(const std::string& sql) override;
  core::Result<LoadedTable> Load(const core::TableId& table) override;
  // SUM of the first 64 bits of MD5 over each row's columns.
  std::string HashSum(const LoadedTable& t, const std::vector<uint32_t>& columns) const override;
  // FLOAT as a DOUBLE: the text protocol prints FLOAT with 6 significant digits.
  std::string ReadColumn(const core::Column& c) const override;

  ConnectionParams params_;
  CaptureFilter filter_;
  MysqlConnection conn_;
};

}  // namespace sluice::mysql
