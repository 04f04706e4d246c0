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

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/verify.h"

namespace sluice::mysql {

class MysqlVerifySide final : public core::VerifySide {
 public:
  // `filter`: the source connector's filters; for a target, CaptureFilter::FromConfig of an
  // empty config (everything).
  MysqlVerifySide(ConnectionParams params, CaptureFilter filter);

  core::Status Connect();
  core::Result<std::vector<core::TableId>> ListTables();

  std::string engine() const override { return "mysql"; }
  core::Result<core::TableSchemaPtr> Describe(const core::TableId& table) override;
  core::Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(const core::TableId& table,
                                                                     uint32_t key) override;
  core::Result<uint64_t> CountRows(const core::TableId& table, uint32_t key,
                                   const core::KeyRange& range) override;
  core::Result<std::optional<core::RangeDigest>> Digest(const core::TableId& table,
                                                        const std::vector<uint32_t>& columns,
                                                        uint32_t key,
                                                        const core::KeyRange& range) override;
  core::Status ReadRows(const core::TableId& table, const std::vector<uint32_t>& columns,
                        uint32_t key, const core::KeyRange& range, core::EventBatch& out) override;

  MysqlConnection& connection() { return conn_; }

 private:
  const LoadedTable* Find(const core::TableId& table) const;
  // Find, or kInternal when the table was not described first.
  core::Result<const LoadedTable*> Described(const core::TableId& table) const;
  std::string Where(const LoadedTable& t, uint32_t key, const core::KeyRange& range) const;
  static std::string Qualified(const core::TableId& table);

  ConnectionParams params_;
  CaptureFilter filter_;
  MysqlConnection conn_;
  std::map<core::TableId, LoadedTable> tables_;
};

}  // namespace sluice::mysql
