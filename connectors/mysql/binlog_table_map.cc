#include "connectors/mysql/binlog_decoder.h"

#include "connectors/mysql/binlog_values.h"

namespace sluice::mysql {
namespace {

using core::Result;
using core::Status;

// Metadata bytes per binlog type in TABLE_MAP (MySQL docs "Table_map_event" column metadata).
int MetadataSize(uint8_t type) {
  switch (type) {
    case kTypeFloat: case kTypeDouble: case kTypeBlob: case kTypeTinyBlob:
    case kTypeMediumBlob: case kTypeLongBlob: case kTypeGeometry: case kTypeJson:
    case kTypeTime2: case kTypeDateTime2: case kTypeTimestamp2:
      return 1;
    case kTypeVarchar: case kTypeVarString: case kTypeBit: case kTypeNewDecimal:
    case kTypeString: case kTypeEnum: case kTypeSet:
      return 2;
    default:
      return 0;
  }
}

bool IsNumeric(uint8_t type) {
  switch (type) {
    case kTypeTiny: case kTypeShort: case kTypeInt24: case kTypeLong: case kTypeLongLong:
    case kTypeFloat: case kTypeDouble: case kTypeNewDecimal: case kTypeDecimal:
      return true;
    default:
      return false;
  }
}

// For a STRING column: the real type (STRING, ENUM or SET) and its length / pack length.
void RealStringType(uint16_t meta, uint8_t& real_type, uint16_t& length) {
  auto b0 = static_cast<uint8_t>(meta >> 8);
  auto b1 = static_cast<uint8_t>(meta & 0xFF);
  if ((b0 & 0x30) != 0x30) {  // CHAR longer than 255 bytes keeps length bits in b0
    length = static_cast<uint16_t>(b1 | (((b0 & 0x30) ^ 0x30) << 4));
    real_type = static_cast<uint8_t>(b0 | 0x30);
  } else {
    real_type = b0;
    length = b1;
  }
}

// Character columns as the charset metadata counts them. MariaDB also counts GEOMETRY (as
// binary); MySQL 8 does not — `with_geometry` picks the variant.
bool IsCharacter(uint8_t type, uint16_t meta, bool with_geometry) {
  switch (type) {
    case kTypeGeometry:
      return with_geometry;
    case kTypeVarchar: case kTypeVarString: case kTypeBlob: case kTypeTinyBlob:
    case kTypeMediumBlob: case kTypeLongBlob:
      return true;
    case kTypeString: {
      uint8_t real;
      uint16_t len;
      RealStringType(meta, real, len);
      return real == kTypeString;
    }
    default:
      return false;
  }
}

bool IsEnumOrSet(uint8_t type, uint16_t meta, uint8_t want) {
  if (type == want) return true;
  if (type != kTypeString) return false;
  uint8_t real;
  uint16_t len;
  RealStringType(meta, real, len);
  return real == want;
}

// Optional metadata field types (MySQL rows_event.h Table_map_event::Optional_metadata_field_type).
enum OptionalMeta : uint8_t {
  kSignedness = 1,
  kDefaultCharset = 2,
  kColumnCharset = 3,
  kColumnName = 4,
  kSetStrValue = 5,
  kEnumStrValue = 6,
  kGeometryType = 7,
  kSimplePrimaryKey = 8,
  kPrimaryKeyWithPrefix = 9,
  kEnumAndSetDefaultCharset = 10,
  kEnumAndSetColumnCharset = 11,
  kColumnVisibility = 12,
};

bool ReadStrValues(BinlogReader& r, const TableMap& map, uint8_t want,
                   std::vector<std::vector<std::string>>& labels) {
  for (size_t i = 0; i < map.types.size(); ++i) {
    if (!IsEnumOrSet(map.types[i], map.metadata[i], want)) continue;
    uint64_t count;
    if (!r.LenEnc(count) || count > r.remaining()) return false;
    labels[i].clear();
    for (uint64_t k = 0; k < count; ++k) {
      uint64_t len;
      std::string_view s;
      if (!r.LenEnc(len) || !r.Bytes(len, s)) return false;
      labels[i].emplace_back(s);
    }
  }
  return r.remaining() == 0;
}

bool ReadCharsets(BinlogReader& r, const TableMap& map, bool is_default, bool for_enum_set,
                  std::vector<uint32_t>& collations) {
  auto targets_of = [&](bool with_geometry) {
    std::vector<size_t> targets;
    for (size_t i = 0; i < map.types.size(); ++i) {
      bool enum_set = IsEnumOrSet(map.types[i], map.metadata[i], kTypeEnum) ||
                      IsEnumOrSet(map.types[i], map.metadata[i], kTypeSet);
      if (for_enum_set ? enum_set : IsCharacter(map.types[i], map.metadata[i], with_geometry)) {
        targets.push_back(i);
      }
    }
    return targets;
  };
  std::vector<size_t> targets = targets_of(true);
  if (!is_default && !for_enum_set) {
    // COLUMN_CHARSET: one collation per character column; the count tells the variant.
    BinlogReader probe = r;
    size_t count = 0;
    uint64_t ignored;
    while (probe.remaining() > 0 && probe.LenEnc(ignored)) ++count;
    if (count != targets.size()) targets = targets_of(false);
  }
  if (is_default) {
    uint64_t def;
    if (!r.LenEnc(def)) return false;
    for (size_t i : targets) collations[i] = static_cast<uint32_t>(def);
    while (r.remaining() > 0) {
      uint64_t idx, coll;
      if (!r.LenEnc(idx) || !r.LenEnc(coll) || idx >= targets.size()) return false;
      collations[targets[idx]] = static_cast<uint32_t>(coll);
    }
    return true;
  }
  for (size_t i : targets) {
    uint64_t coll;
    if (!r.LenEnc(coll)) return false;
    collations[i] = static_cast<uint32_t>(coll);
  }
  return r.remaining() == 0;
}

// Converts ENUM/SET labels in the character set of `collation` to UTF-8 in place; false when
// the set has no converter or a label is not valid in it.
bool LabelsToUtf8(std::vector<std::string>& labels, uint32_t collation) {
  CharsetKind kind = CharsetKindFromCollationId(collation);
  if (kind == CharsetKind::kUtf8 || kind == CharsetKind::kBinary) return true;
  std::shared_ptr<const CharsetConverter> converter;
  if (kind == CharsetKind::kOther) {
    std::string_view name = CharsetNameForCollationId(collation);
    if (name.empty()) return false;
    auto found = ConverterForCharset(name);
    if (!found.ok()) return false;
    converter = *found;
  }
  std::string utf8;
  for (std::string& label : labels) {
    utf8.clear();
    if (converter) {
      if (!converter->Append(utf8, label)) return false;
    } else {
      AppendUtf8(utf8, label, kind);
    }
    label.swap(utf8);
  }
  return true;
}

}  // namespace

Result<TableMap> DecodeTableMap(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  TableMap map;
  uint64_t v;
  uint8_t len;
  std::string_view s;
  if (!r.Fixed(6, map.table_id) || !r.Skip(2)) return MalformedEvent(at, "TABLE_MAP post-header");
  if (!r.U8(len) || !r.Bytes(len, s) || !r.Skip(1)) return MalformedEvent(at, "TABLE_MAP schema name");
  map.database.assign(s);
  if (!r.U8(len) || !r.Bytes(len, s) || !r.Skip(1)) return MalformedEvent(at, "TABLE_MAP table name");
  map.table.assign(s);
  if (!r.LenEnc(v) || v > r.remaining() || v > 4096) return MalformedEvent(at, "TABLE_MAP column count");
  size_t n = static_cast<size_t>(v);
  if (!r.Bytes(n, s)) return MalformedEvent(at, "TABLE_MAP column types");
  map.types.assign(s.begin(), s.end());
  uint64_t meta_len;
  std::string_view meta;
  if (!r.LenEnc(meta_len) || !r.Bytes(meta_len, meta)) return MalformedEvent(at, "TABLE_MAP metadata");
  BinlogReader m(meta);
  map.metadata.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    uint8_t t = map.types[i];
    int size = MetadataSize(t);
    uint8_t b0 = 0, b1 = 0;
    if (size >= 1 && !m.U8(b0)) return MalformedEvent(at, "TABLE_MAP metadata of column " + std::to_string(i + 1));
    if (size == 2 && !m.U8(b1)) return MalformedEvent(at, "TABLE_MAP metadata of column " + std::to_string(i + 1));
    if (size == 1) {
      map.metadata[i] = b0;
    } else if (size == 2) {
      if (t == kTypeVarchar || t == kTypeVarString) {
        map.metadata[i] = static_cast<uint16_t>(b0 | (b1 << 8));
      } else if (t == kTypeBit) {
        map.metadata[i] = static_cast<uint16_t>(b0 | (b1 << 8));  // bits%8 | bytes<<8
      } else {
        map.metadata[i] = static_cast<uint16_t>((b0 << 8) | b1);
      }
    }
  }
  if (m.remaining() != 0) return MalformedEvent(at, "TABLE_MAP metadata longer than its columns");
  if (!r.Bytes((n + 7) / 8, s)) return MalformedEvent(at, "TABLE_MAP null bitmap");
  map.nullable.resize(n);
  for (size_t i = 0; i < n; ++i) map.nullable[i] = BitSet(s, i);

  // Optional metadata: type(1), length(lenenc), value.
  map.is_unsigned.assign(n, false);
  map.collations.assign(n, 0);
  map.labels.assign(n, {});
  while (r.remaining() > 0) {
    uint8_t type;
    uint64_t flen;
    std::string_view field;
    if (!r.U8(type) || !r.LenEnc(flen) || !r.Bytes(flen, field)) {
      return MalformedEvent(at, "TABLE_MAP optional metadata");
    }
    BinlogReader f(field);
    bool ok = true;
    switch (type) {
      case kSignedness: {
        size_t k = 0;
        map.has_signedness = true;
        for (size_t i = 0; i < n && ok; ++i) {
          if (!IsNumeric(map.types[i])) continue;
          if (k / 8 >= field.size()) {
            ok = false;
            break;
          }
          map.is_unsigned[i] = (static_cast<uint8_t>(field[k / 8]) >> (7 - k % 8)) & 1;
          ++k;
        }
        break;
      }
      case kDefaultCharset:
      case kColumnCharset:
        map.has_charsets = true;
        ok = ReadCharsets(f, map, type == kDefaultCharset, false, map.collations);
        break;
      case kEnumAndSetDefaultCharset:
      case kEnumAndSetColumnCharset:
        ok = ReadCharsets(f, map, type == kEnumAndSetDefaultCharset, true, map.collations);
        break;
      case kColumnName:
        map.column_names.clear();
        while (ok && f.remaining() > 0) {
          uint64_t l;
          std::string_view name;
          ok = f.LenEnc(l) && f.Bytes(l, name);
          if (ok) map.column_names.emplace_back(name);
        }
        ok = ok && map.column_names.size() == n;
        break;
      case kSetStrValue:
        ok = ReadStrValues(f, map, kTypeSet, map.labels);
        break;
      case kEnumStrValue:
        ok = ReadStrValues(f, map, kTypeEnum, map.labels);
        break;
      case kSimplePrimaryKey:
        while (ok && f.remaining() > 0) {
          uint64_t idx;
          ok = f.LenEnc(idx) && idx < n;
          if (ok) map.primary_key.push_back(static_cast<uint32_t>(idx));
        }
        break;
      case kPrimaryKeyWithPrefix:
        while (ok && f.remaining() > 0) {
          uint64_t idx, prefix;
          ok = f.LenEnc(idx) && f.LenEnc(prefix) && idx < n;
          if (ok) map.primary_key.push_back(static_cast<uint32_t>(idx));
        }
        break;
      default:
        break;  // geometry types, visibility and future fields: not needed
    }
    if (!ok) return MalformedEvent(at, "TABLE_MAP optional metadata field " + std::to_string(type));
  }
  // ENUM/SET labels arrive in their column's character set (the server writes the column's
  // typelib as stored: sql/log_event_server.cc Table_map_log_event::init_set_str_value_field),
  // while events carry UTF-8: convert them once here, not per value. A set without a converter
  // or labels invalid in it leave the labels empty, so the plan uses information_schema's
  // (already UTF-8) instead.
  for (size_t i = 0; i < n; ++i) {
    if (!map.labels[i].empty() && map.collations[i] != 0 &&
        !LabelsToUtf8(map.labels[i], map.collations[i])) {
      map.labels[i].clear();
    }
  }
  return map;
}

void SchemaFromTableMap(const TableMap& map, core::TableSchema& schema,
                        std::vector<SchemaColumnInfo>& info) {
  schema.columns.clear();
  info.clear();
  for (size_t i = 0; i < map.types.size(); ++i) {
    core::Column col;
    col.name = i < map.column_names.size() ? map.column_names[i] : "col_" + std::to_string(i + 1);
    col.nullable = map.nullable[i];
    SchemaColumnInfo ci;
    ci.is_unsigned = map.is_unsigned[i];
    ci.charset = map.collations[i] ? CharsetKindFromCollationId(map.collations[i]) : CharsetKind::kBinary;
    if (ci.charset == CharsetKind::kOther) {
      std::string_view name = CharsetNameForCollationId(map.collations[i]);
      auto converter = name.empty() ? core::Result<std::shared_ptr<const CharsetConverter>>(
                                          core::InvalidArgumentError("unknown collation"))
                                    : ConverterForCharset(name);
      if (converter.ok()) ci.converter = *converter;
    }
    ci.labels = map.labels[i];
    uint8_t t = map.types[i];
    uint16_t meta = map.metadata[i];
    uint8_t real = t;
    uint16_t len = 0;
    if (t == kTypeString) RealStringType(meta, real, len);
    using core::LogicalType;
    switch (real) {
      case kTypeTiny: col.type = LogicalType::kInt16; col.source_type = "tinyint"; break;
      case kTypeShort: col.type = ci.is_unsigned ? LogicalType::kInt32 : LogicalType::kInt16; col.source_type = "smallint"; break;
      case kTypeInt24: col.type = LogicalType::kInt32; col.source_type = "mediumint"; break;
      case kTypeLong: col.type = ci.is_unsigned ? LogicalType::kInt64 : LogicalType::kInt32; col.source_type = "int"; break;
      case kTypeLongLong: col.type = ci.is_unsigned ? LogicalType::kDecimal : LogicalType::kInt64; col.source_type = "bigint"; break;
      case kTypeFloat: col.type = LogicalType::kFloat32; col.source_type = "float"; break;
      case kTypeDouble: col.type = LogicalType::kFloat64; col.source_type = "double"; break;
      case kTypeNewDecimal:
        col.type = LogicalType::kDecimal;
        col.precision = meta >> 8;
        col.scale = meta & 0xFF;
        col.source_type = "decimal(" + std::to_string(col.precision) + "," + std::to_string(col.scale) + ")";
        break;
      case kTypeYear: col.type = LogicalType::kInt16; col.source_type = "year"; break;
      case kTypeDate: case kTypeNewDate: col.type = LogicalType::kDate; col.source_type = "date"; break;
      case kTypeTime: case kTypeTime2: col.type = LogicalType::kTime; col.source_type = "time"; break;
      case kTypeDateTime: case kTypeDateTime2: col.type = LogicalType::kTimestamp; col.source_type = "datetime"; break;
      case kTypeTimestamp: case kTypeTimestamp2: col.type = LogicalType::kTimestampTz; col.source_type = "timestamp"; break;
      case kTypeBit:
        ci.bit_as_bool = (meta >> 8) == 0 && (meta & 0xFF) == 1;
        col.type = ci.bit_as_bool ? LogicalType::kBool : LogicalType::kBytes;
        col.source_type = "bit";
        break;
      case kTypeEnum: col.type = LogicalType::kEnum; col.enum_values = ci.labels; col.source_type = "enum"; break;
      case kTypeSet: col.type = LogicalType::kString; col.enum_values = ci.labels; col.source_type = "set"; break;
      case kTypeJson: col.type = LogicalType::kJson; col.source_type = "json"; break;
      case kTypeGeometry: col.type = LogicalType::kBytes; col.source_type = "geometry"; break;
      case kTypeVarchar: case kTypeVarString: case kTypeString:
      case kTypeBlob: case kTypeTinyBlob: case kTypeMediumBlob: case kTypeLongBlob: {
        bool binary = ci.charset == CharsetKind::kBinary;
        col.type = binary ? LogicalType::kBytes : LogicalType::kString;
        bool blob = real >= kTypeTinyBlob && real <= kTypeBlob;
        col.source_type = blob ? (binary ? "blob" : "text") : (binary ? "varbinary" : "varchar");
        break;
      }
      default: col.type = LogicalType::kUnknown; col.source_type = "unknown"; break;
    }
    col.is_unsigned = ci.is_unsigned;
    schema.columns.push_back(std::move(col));
    info.push_back(std::move(ci));
  }
  schema.key = map.primary_key;
}

Result<std::shared_ptr<const RowsPlan>> BuildRowsPlan(const TableMap& map,
                                                      core::TableSchemaPtr schema,
                                                      const std::vector<SchemaColumnInfo>& info,
                                                      const std::vector<bool>& excluded,
                                                      ZeroDateMode zero_dates) {
  if (info.size() != map.types.size() || excluded.size() != map.types.size()) {
    return core::FailedPreconditionError(
        "table " + map.database + "." + map.table + " has " + std::to_string(map.types.size()) +
        " columns in the binlog but " + std::to_string(info.size()) + " in its schema");
  }
  auto plan = std::make_shared<RowsPlan>();
  plan->table_id = map.table_id;
  plan->zero_dates = zero_dates;
  plan->schema = std::move(schema);
  plan->owned_labels.resize(map.types.size());
  plan->columns.resize(map.types.size());
  plan->column_names.resize(map.types.size());
  size_t emitted = 0;  // schema columns are the included binlog columns, in order
  for (size_t i = 0; i < map.types.size(); ++i) {
    ColumnPlan& c = plan->columns[i];
    c.type = map.types[i];
    c.meta = map.metadata[i];
    if (c.type == kTypeString) {
      uint8_t real;
      uint16_t len;
      RealStringType(c.meta, real, len);
      c.type = real;
      c.meta = len;
    }
    c.is_unsigned = map.has_signedness ? map.is_unsigned[i] : info[i].is_unsigned;
    c.charset = info[i].charset;
    if (c.charset == CharsetKind::kOther) {
      if (info[i].converter) {
        plan->owned_converters.push_back(info[i].converter);
        c.converter = info[i].converter.get();
      } else if (excluded[i]) {
        c.charset = CharsetKind::kBinary;  // skipped anyway: no need to convert
      } else {
        return core::InvalidArgumentError(
            "table " + map.database + "." + map.table + " column " +
            (i < map.column_names.size() ? map.column_names[i] : "#" + std::to_string(i + 1)) +
            " has a character set that cannot be converted to UTF-8; convert the column to "
            "utf8mb4 or leave it out with column.exclude.list");
      }
    }
    c.as_bool = info[i].bit_as_bool;
    // Only a fixed binary string of the type's size is decoded as text; a TABLE_MAP that says
    // otherwise (the column changed type since) keeps its bytes.
    if (c.type == kTypeString && c.charset == CharsetKind::kBinary &&
        c.meta == FixedBinarySize(info[i].text_form)) {
      c.text_form = info[i].text_form;
    }
    c.include = !excluded[i];
    if (i < map.column_names.size()) {
      plan->column_names[i] = map.column_names[i];
    } else if (c.include && plan->schema && emitted < plan->schema->columns.size()) {
      plan->column_names[i] = plan->schema->columns[emitted].name;
    }
    emitted += c.include;
    const auto& labels = !map.labels[i].empty() ? map.labels[i] : info[i].labels;
    if (c.type == kTypeEnum || c.type == kTypeSet) {
      plan->owned_labels[i] = labels;
      c.labels = &plan->owned_labels[i];
    }
  }
  return std::shared_ptr<const RowsPlan>(std::move(plan));
}

}  // namespace sluice::mysql
