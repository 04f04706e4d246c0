#include "connectors/mysql/verify_side.h"

#include "connectors/mysql/mysql_types.h"

namespace sluice::mysql {

namespace {

bool IsYear(const core::Column& c) { return c.source_type.rfind("year", 0) == 0; }

}  // namespace

MysqlVerifySide::MysqlVerifySide(ConnectionParams params, CaptureFilter filter)
    : params_(std::move(params)), filter_(std::move(filter)) {}

core::Status MysqlVerifySide::Connect() { return conn_.Connect(params_); }

core::Result<std::vector<core::TableId>> MysqlVerifySide::ListTables() {
  SchemaLoader loader(&conn_, &filter_);
  return loader.ListTables();
}

std::string MysqlVerifySide::Quote(std::string_view name) const { return QuoteIdentifier(name); }

core::Result<core::TextRows> MysqlVerifySide::QueryText(const std::string& sql) {
  return conn_.Query(sql);
}

core::Result<LoadedTable> MysqlVerifySide::Load(const core::TableId& table) {
  SchemaLoader loader(&conn_, &filter_);
  auto loaded = loader.Load(table, 1);
  if (!loaded.ok() && loaded.status().code() == core::StatusCode::kNotFound) {
    return core::NotFoundError("mysql table " + table.ToString() + " does not exist");
  }
  return loaded;
}

std::string MysqlVerifySide::HashSum(const LoadedTable& t,
                                     const std::vector<uint32_t>& columns) const {
  // 'v' + value for a value, 'N' for NULL: NULL never hashes like any text.
  std::string row = "CONCAT_WS(0x1f";
  for (uint32_t c : columns) {
    const core::Column& col = t.schema->columns[c];
    // Floats as DOUBLE: in a string context FLOAT prints 6 significant digits, which would hide
    // a difference in the 7th.
    const bool is_float = col.type == core::LogicalType::kFloat32 || col.type == core::LogicalType::kFloat64;
    const std::string value = is_float ? "(" + Quote(col.name) + " + 0E0)" : Quote(col.name);
    row += ", IFNULL(CONCAT('v', " + value + "), 'N')";
  }
  row += ")";
  return "IFNULL(SUM(CAST(CONV(LEFT(MD5(" + row + "), 16), 16, 10) AS UNSIGNED)), 0)";
}

std::string MysqlVerifySide::ReadColumn(const core::Column& c) const {
  // As the snapshot reader does.
  if (c.type == core::LogicalType::kFloat32) return "(" + Quote(c.name) + " + 0E0)";
  return Quote(c.name);
}

core::Status MysqlVerifySide::ReadRows(const core::TableId& table,
                                       const std::vector<uint32_t>& columns, uint32_t key,
                                       const core::KeyRange& range, core::EventBatch& out) {
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* t, Described(table));
  const auto& cols = t->schema->columns;
  const std::string select = SelectRows(table, *t, columns, key, range);
  SLUICE_RETURN_IF_ERROR(conn_.StartStream(select));
  char** values;
  unsigned long* lengths;
  std::string converted;
  while (conn_.NextRow(values, lengths)) {
    out.BeginRow();
    for (size_t i = 0; i < columns.size(); ++i) {
      if (values[i] == nullptr) {
        out.AppendNull();
        continue;
      }
      std::string_view v(values[i], lengths[i]);
      const core::Column& c = cols[columns[i]];
      switch (c.type) {
        case core::LogicalType::kDate:
        case core::LogicalType::kTimestamp:
        case core::LogicalType::kTimestampTz:
          if (IsZeroDateText(v)) {
            out.AppendNull();
          } else {
            out.AppendValue(v);
            if (c.type == core::LogicalType::kTimestampTz) out.ExtendLastValue("+00");
          }
          break;
        case core::LogicalType::kBool: {
          bool set = false;  // BIT(1): one raw byte
          for (char ch : v) set = set || ch != 0;
          out.AppendValue(set ? "t" : "f");
          break;
        }
        case core::LogicalType::kFloat32:
          converted.clear();
          if (!AppendFloat32FromDoubleText(converted, v)) {
            out.AbandonRow();
            conn_.EndStream();
            return core::DataLossError("mysql verify of " + table.ToString() + ": column " +
                                       c.name + " (FLOAT) is no float32 value");
          }
          out.AppendValue(converted);
          break;
        default:
          if (IsYear(c)) {
            size_t k = 0;
            while (k + 1 < v.size() && v[k] == '0') ++k;
            out.AppendValue(v.substr(k));
          } else {
            out.AppendValue(v);
          }
      }
    }
    out.EndRow();
  }
  core::Status st = conn_.stream_status();
  conn_.EndStream();
  return st.WithContext("mysql verify of " + table.ToString());
}

}  // namespace sluice::mysql
