#include "connectors/mysql/verify_side.h"

#include "connectors/mysql/mysql_types.h"
#include "core/parse_number.h"

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

std::string MysqlVerifySide::Qualified(const core::TableId& table) {
  return QuoteIdentifier(table.schema) + "." + QuoteIdentifier(table.table);
}

const LoadedTable* MysqlVerifySide::Find(const core::TableId& table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : &it->second;
}

core::Result<const LoadedTable*> MysqlVerifySide::Described(const core::TableId& table) const {
  const LoadedTable* t = Find(table);
  if (t == nullptr) return core::InternalError("verify: " + table.ToString() + " not described");
  return t;
}

core::Result<core::TableSchemaPtr> MysqlVerifySide::Describe(const core::TableId& table) {
  if (const LoadedTable* t = Find(table)) return t->schema;
  SchemaLoader loader(&conn_, &filter_);
  auto loaded = loader.Load(table, 1);
  if (!loaded.ok()) {
    if (loaded.status().code() == core::StatusCode::kNotFound) {
      return core::NotFoundError("mysql table " + table.ToString() + " does not exist");
    }
    return loaded.status();
  }
  auto schema = loaded->schema;
  tables_[table] = std::move(*loaded);
  return schema;
}

std::string MysqlVerifySide::Where(const LoadedTable& t, uint32_t key,
                                   const core::KeyRange& range) const {
  if (range.whole) return "";
  return " WHERE " + QuoteIdentifier(t.schema->columns[key].name) + " BETWEEN " +
         std::to_string(range.lo) + " AND " + std::to_string(range.hi);
}

core::Result<std::optional<std::pair<int64_t, int64_t>>> MysqlVerifySide::KeyBounds(
    const core::TableId& table, uint32_t key) {
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* t, Described(table));
  const std::string col = QuoteIdentifier(t->schema->columns[key].name);
  SLUICE_ASSIGN_OR_RETURN(auto rows, conn_.Query("SELECT MIN(" + col + "), MAX(" + col +
                                                 ") FROM " + Qualified(table)));
  if (rows.empty() || !rows[0][0] || !rows[0][1]) return std::optional<std::pair<int64_t, int64_t>>();
  // An unsigned BIGINT above INT64_MAX cannot be planned as a signed range.
  auto lo = core::ParseNumber<int64_t>(*rows[0][0], "MIN(key)");
  auto hi = core::ParseNumber<int64_t>(*rows[0][1], "MAX(key)");
  if (!lo.ok() || !hi.ok()) {
    return core::FailedPreconditionError("mysql verify of " + table.ToString() +
                                         ": key values beyond the signed 64-bit range");
  }
  return std::optional<std::pair<int64_t, int64_t>>(std::make_pair(*lo, *hi));
}

core::Result<uint64_t> MysqlVerifySide::CountRows(const core::TableId& table, uint32_t key,
                                                  const core::KeyRange& range) {
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* t, Described(table));
  SLUICE_ASSIGN_OR_RETURN(auto rows, conn_.Query("SELECT COUNT(*) FROM " + Qualified(table) +
                                                 Where(*t, key, range)));
  return core::ParseNumber<uint64_t>(rows.at(0).at(0).value_or("0"), "COUNT(*)");
}

core::Result<std::optional<core::RangeDigest>> MysqlVerifySide::Digest(
    const core::TableId& table, const std::vector<uint32_t>& columns, uint32_t key,
    const core::KeyRange& range) {
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* t, Described(table));
  // 'v' + value for a value, 'N' for NULL: NULL never hashes like any text.
  std::string row = "CONCAT_WS(0x1f";
  for (uint32_t c : columns) {
    const core::Column& col = t->schema->columns[c];
    // Floats as DOUBLE: in a string context FLOAT prints 6 significant digits, which would hide
    // a difference in the 7th.
    const bool is_float = col.type == core::LogicalType::kFloat32 || col.type == core::LogicalType::kFloat64;
    const std::string value = is_float ? "(" + QuoteIdentifier(col.name) + " + 0E0)" : QuoteIdentifier(col.name);
    row += ", IFNULL(CONCAT('v', " + value + "), 'N')";
  }
  row += ")";
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, conn_.Query("SELECT COUNT(*), IFNULL(SUM(CAST(CONV(LEFT(MD5(" + row +
                             "), 16), 16, 10) AS UNSIGNED)), 0) FROM " + Qualified(table) +
                             Where(*t, key, range)));
  core::RangeDigest digest;
  SLUICE_ASSIGN_OR_RETURN(digest.rows,
                          core::ParseNumber<uint64_t>(rows.at(0).at(0).value_or("0"), "COUNT(*)"));
  digest.hash = rows.at(0).at(1).value_or("");
  return std::optional<core::RangeDigest>(std::move(digest));
}

core::Status MysqlVerifySide::ReadRows(const core::TableId& table,
                                       const std::vector<uint32_t>& columns, uint32_t key,
                                       const core::KeyRange& range, core::EventBatch& out) {
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* t, Described(table));
  const auto& cols = t->schema->columns;
  std::string select = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) select += ", ";
    const core::Column& c = cols[columns[i]];
    // FLOAT as a DOUBLE: the text protocol prints FLOAT with 6 significant digits (as the
    // snapshot reader does).
    if (c.type == core::LogicalType::kFloat32) {
      select += "(" + QuoteIdentifier(c.name) + " + 0E0)";
    } else {
      select += QuoteIdentifier(c.name);
    }
  }
  if (columns.empty()) select += "1";
  select += " FROM " + Qualified(table) + Where(*t, key, range);
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
