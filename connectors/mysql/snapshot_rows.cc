#include "connectors/mysql/snapshot_rows.h"

#include "connectors/mysql/charset_converter.h"
#include "connectors/mysql/client/mysql_client.h"

namespace sluice::mysql {
namespace {

bool IsAscii(std::string_view v) {
  unsigned char any = 0;
  for (char ch : v) any |= static_cast<unsigned char>(ch);
  return any < 0x80;
}

}  // namespace

SnapshotRowCodec::SnapshotRowCodec(const LoadedTable* table, ZeroDateMode zero_dates)
    : table_(table), zero_dates_(zero_dates) {
  for (size_t i = 0; i < table->columns.size(); ++i) {
    if (table->excluded[i]) continue;
    const core::Column& col = table->schema->columns[fixes_.size()];
    Fix f = Fix::kNone;
    if (col.type == core::LogicalType::kDate || col.type == core::LogicalType::kTimestamp) f = Fix::kZeroDate;
    if (col.type == core::LogicalType::kTimestampTz) f = Fix::kTimestampTz;
    if (col.type == core::LogicalType::kBool) f = Fix::kBitBool;
    if (col.source_type.rfind("year", 0) == 0) f = Fix::kYear;
    if (col.type == core::LogicalType::kFloat32) f = Fix::kFloat;
    const SchemaColumnInfo& info = table->info[i];
    if (info.charset == CharsetKind::kOther && info.converter) f = Fix::kConvert;
    fixes_.push_back(f);
    converters_.push_back(f == Fix::kConvert ? info.converter.get() : nullptr);
  }
}

std::string SnapshotRowCodec::SelectList() const {
  const LoadedTable& table = *table_;
  std::string select;
  for (size_t i = 0, k = 0; i < table.columns.size(); ++i) {
    if (table.excluded[i]) continue;
    if (!select.empty()) select += ", ";
    const Fix fix = fixes_[k++];
    if (fix == Fix::kConvert) {
      select += "CAST(" + QuoteIdentifier(table.columns[i].name) + " AS BINARY)";
    } else if (fix == Fix::kFloat) {
      // The text protocol prints FLOAT with 6 significant digits (16777216 as 16777200);
      // as a DOUBLE the server prints the exact value, which is then shortened back to the
      // float32's own shortest text (what the binlog path gives for the same value). `+ 0E0`
      // makes the DOUBLE on every MySQL and MariaDB version (CAST AS DOUBLE needs MySQL 8.0.17).
      select += "(" + QuoteIdentifier(table.columns[i].name) + " + 0E0)";
    } else {
      select += QuoteIdentifier(table.columns[i].name);
    }
  }
  return select.empty() ? "1" : select;
}

core::Status SnapshotRowCodec::AppendRow(core::EventBatch& batch, char** values,
                                         const unsigned long* lengths, uint64_t& bytes,
                                         uint64_t& zero_dates, std::string& scratch) const {
  const size_t n = fixes_.size();
  for (size_t i = 0; i < n; ++i) {
    if (values[i] == nullptr) {
      batch.AppendNull();
      continue;
    }
    std::string_view v(values[i], lengths[i]);
    bytes += v.size();
    switch (fixes_[i]) {
      case Fix::kNone:
        batch.AppendValue(v);
        break;
      case Fix::kZeroDate:
      case Fix::kTimestampTz:
        if (IsZeroDateText(v)) {
          if (zero_dates_ == ZeroDateMode::kFail) {
            batch.AbandonRow();
            return RefusedValue(i, values, lengths, ZeroDateRefusal(v));
          }
          ++zero_dates;
          batch.AppendNull();
        } else {
          batch.AppendValue(v);
          if (fixes_[i] == Fix::kTimestampTz) batch.ExtendLastValue("+00");
        }
        break;
      case Fix::kYear: {
        size_t k = 0;
        while (k + 1 < v.size() && v[k] == '0') ++k;
        batch.AppendValue(v.substr(k));
        break;
      }
      case Fix::kBitBool: {
        bool set = false;
        for (char c : v) set = set || c != 0;
        batch.AppendValue(set ? "t" : "f");
        break;
      }
      case Fix::kFloat:
        scratch.clear();
        if (!AppendFloat32FromDoubleText(scratch, v)) {
          batch.AbandonRow();
          return core::DataLossError("mysql snapshot of " + table_->schema->id.ToString() +
                                     ": column " + table_->schema->columns[i].name +
                                     " (FLOAT) read as \"" + Printable(v) +
                                     "\", which is no float32 value");
        }
        batch.AppendValue(scratch);
        break;
      case Fix::kConvert: {
        const CharsetConverter& cv = *converters_[i];
        if (cv.ascii_compatible() && IsAscii(v)) {
          batch.AppendValue(v);
          break;
        }
        scratch.clear();
        if (!cv.Append(scratch, v)) {
          batch.AbandonRow();
          return RefusedValue(i, values, lengths,
                              "holds bytes that are not valid " + cv.charset() +
                                  " text; fix the value at the source (or exclude the column "
                                  "with column.exclude.list)");
        }
        batch.AppendValue(scratch);
        break;
      }
    }
  }
  return core::Status::Ok();
}

core::Status SnapshotRowCodec::RefusedValue(size_t column, char** values,
                                            const unsigned long* lengths,
                                            const std::string& what) const {
  const core::TableSchema& schema = *table_->schema;
  std::string key;
  for (uint32_t k : schema.key) {
    if (!key.empty()) key += ", ";
    key += schema.columns[k].name + "=" +
           (values[k] ? Printable(std::string_view(values[k], lengths[k])) : "NULL");
  }
  return core::FailedPreconditionError(
      "mysql snapshot of " + schema.id.ToString() + ": column " + schema.columns[column].name +
      " of the row " + (key.empty() ? std::string("(no primary key)") : "with " + key) + " " +
      what);
}

}  // namespace sluice::mysql
