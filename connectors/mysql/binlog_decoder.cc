#include "connectors/mysql/binlog_decoder.h"

#include <libdeflate.h>

#include "connectors/mysql/binlog_values.h"

namespace sluice::mysql {
namespace {

using core::Result;
using core::Status;

Status Malformed(const BinlogLocation& at, std::string_view what) {
  return core::DataLossError("malformed binlog event at " + at.ToString() + ": " +
                             std::string(what) +
                             "; the binlog may be corrupt or use an unsupported format");
}

bool BitSet(std::string_view bitmap, size_t i) {
  return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}

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

std::string BinlogLocation::ToString() const {
  return std::string(file.empty() ? "(unknown file)" : file) + ":" + std::to_string(pos);
}

uint32_t Crc32(std::string_view data) {
  // CRC-32 (IEEE 802.3), as the binlog's checksum; libdeflate folds it with carry-less
  // multiplication where the CPU has it.
  return libdeflate_crc32(0, data.data(), data.size());
}

Result<RawEvent> SplitEvent(std::string_view event, bool has_checksum, const BinlogLocation& at) {
  BinlogReader r(event);
  uint64_t ts, type, server, size, next, flags;
  if (!r.Fixed(4, ts) || !r.Fixed(1, type) || !r.Fixed(4, server) || !r.Fixed(4, size) ||
      !r.Fixed(4, next) || !r.Fixed(2, flags)) {
    return Malformed(at, "event shorter than the 19-byte header");
  }
  if (size != event.size()) {
    return Malformed(at, "event size " + std::to_string(size) + " differs from the " +
                             std::to_string(event.size()) + " bytes received");
  }
  RawEvent raw;
  raw.header = {static_cast<uint32_t>(ts), static_cast<uint8_t>(type),
                static_cast<uint32_t>(server), static_cast<uint32_t>(size),
                static_cast<uint32_t>(next), static_cast<uint16_t>(flags)};
  size_t body_end = event.size();
  // FORMAT_DESCRIPTION carries its own checksum algorithm byte; it is checksummed as well when
  // the server checksums events, so one rule fits all types.
  if (has_checksum) {
    if (event.size() < kEventHeaderSize + kChecksumSize) return Malformed(at, "no room for the CRC32");
    body_end -= kChecksumSize;
    uint32_t stored = static_cast<uint32_t>(
        static_cast<uint8_t>(event[body_end]) | static_cast<uint8_t>(event[body_end + 1]) << 8 |
        static_cast<uint8_t>(event[body_end + 2]) << 16 |
        static_cast<uint32_t>(static_cast<uint8_t>(event[body_end + 3])) << 24);
    if (stored != Crc32(event.substr(0, body_end))) return Malformed(at, "CRC32 mismatch");
  }
  raw.body = event.substr(kEventHeaderSize, body_end - kEventHeaderSize);
  return raw;
}

Result<TableMap> DecodeTableMap(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  TableMap map;
  uint64_t v;
  uint8_t len;
  std::string_view s;
  if (!r.Fixed(6, map.table_id) || !r.Skip(2)) return Malformed(at, "TABLE_MAP post-header");
  if (!r.U8(len) || !r.Bytes(len, s) || !r.Skip(1)) return Malformed(at, "TABLE_MAP schema name");
  map.database.assign(s);
  if (!r.U8(len) || !r.Bytes(len, s) || !r.Skip(1)) return Malformed(at, "TABLE_MAP table name");
  map.table.assign(s);
  if (!r.LenEnc(v) || v > r.remaining() || v > 4096) return Malformed(at, "TABLE_MAP column count");
  size_t n = static_cast<size_t>(v);
  if (!r.Bytes(n, s)) return Malformed(at, "TABLE_MAP column types");
  map.types.assign(s.begin(), s.end());
  uint64_t meta_len;
  std::string_view meta;
  if (!r.LenEnc(meta_len) || !r.Bytes(meta_len, meta)) return Malformed(at, "TABLE_MAP metadata");
  BinlogReader m(meta);
  map.metadata.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    uint8_t t = map.types[i];
    int size = MetadataSize(t);
    uint8_t b0 = 0, b1 = 0;
    if (size >= 1 && !m.U8(b0)) return Malformed(at, "TABLE_MAP metadata of column " + std::to_string(i + 1));
    if (size == 2 && !m.U8(b1)) return Malformed(at, "TABLE_MAP metadata of column " + std::to_string(i + 1));
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
  if (m.remaining() != 0) return Malformed(at, "TABLE_MAP metadata longer than its columns");
  if (!r.Bytes((n + 7) / 8, s)) return Malformed(at, "TABLE_MAP null bitmap");
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
      return Malformed(at, "TABLE_MAP optional metadata");
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
    if (!ok) return Malformed(at, "TABLE_MAP optional metadata field " + std::to_string(type));
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
                                                      const std::vector<bool>& excluded) {
  if (info.size() != map.types.size() || excluded.size() != map.types.size()) {
    return core::FailedPreconditionError(
        "table " + map.database + "." + map.table + " has " + std::to_string(map.types.size()) +
        " columns in the binlog but " + std::to_string(info.size()) + " in its schema");
  }
  auto plan = std::make_shared<RowsPlan>();
  plan->table_id = map.table_id;
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

Result<RowsEvent> DecodeRowsHeader(uint8_t type, std::string_view body, const BinlogLocation& at) {
  RowsEvent ev;
  bool v2 = false;
  switch (static_cast<EventType>(type)) {
    case EventType::kWriteRowsV2: v2 = true; [[fallthrough]];
    case EventType::kWriteRowsV1: ev.op = core::Op::kCreate; break;
    case EventType::kUpdateRowsV2: v2 = true; [[fallthrough]];
    case EventType::kUpdateRowsV1: ev.op = core::Op::kUpdate; break;
    case EventType::kDeleteRowsV2: v2 = true; [[fallthrough]];
    case EventType::kDeleteRowsV1: ev.op = core::Op::kDelete; break;
    default:
      return Malformed(at, "event type " + std::to_string(type) + " is not a rows event");
  }
  BinlogReader r(body);
  uint64_t flags, n;
  if (!r.Fixed(6, ev.table_id) || !r.Fixed(2, flags)) return Malformed(at, "ROWS post-header");
  ev.flags = static_cast<uint16_t>(flags);
  if (v2) {
    uint64_t extra;
    if (!r.Fixed(2, extra) || extra < 2 || !r.Skip(extra - 2)) return Malformed(at, "ROWS v2 extra data");
  }
  if (!r.LenEnc(n) || n == 0 || n > 4096) return Malformed(at, "ROWS column count");
  ev.column_count = static_cast<uint32_t>(n);
  size_t bitmap = (n + 7) / 8;
  if (!r.Bytes(bitmap, ev.present_before)) return Malformed(at, "ROWS column bitmap");
  ev.present_after = ev.present_before;
  if (ev.op == core::Op::kUpdate && !r.Bytes(bitmap, ev.present_after)) {
    return Malformed(at, "ROWS after-image column bitmap");
  }
  ev.rows = r.rest();
  return ev;
}

namespace {

constexpr size_t kNoColumn = static_cast<size_t>(-1);

// Decodes one row image: null bitmap over the present columns, then their values.
bool DecodeImage(BinlogReader& r, const RowsEvent& ev, std::string_view present, const RowsPlan& plan,
                 core::EventBatch& batch, std::string& scratch, DecodeStats* stats,
                 uint32_t& row, size_t& bad_column, ValueResult& bad) {
  size_t present_count = 0;
  for (uint32_t i = 0; i < ev.column_count; ++i) present_count += BitSet(present, i);
  std::string_view nulls;
  if (!r.Bytes((present_count + 7) / 8, nulls)) {
    bad_column = kNoColumn;
    return false;
  }
  row = batch.BeginRow();
  size_t k = 0;
  for (uint32_t i = 0; i < ev.column_count; ++i) {
    const ColumnPlan& c = plan.columns[i];
    if (!BitSet(present, i)) {
      if (c.include) batch.AppendUnchanged();
      continue;
    }
    bool is_null = BitSet(nulls, k++);
    if (is_null) {
      if (c.include) batch.AppendNull();
      continue;
    }
    scratch.clear();
    ValueResult res = DecodeValue(r, c, scratch);
    if (res == ValueResult::kBad || res == ValueResult::kBadText) {
      batch.AbandonRow();
      bad_column = i;
      bad = res;
      return false;
    }
    if (!c.include) continue;
    if (res == ValueResult::kNull) {
      if (stats) ++stats->zero_dates;
      batch.AppendNull();
    } else {
      batch.AppendValue(scratch);
    }
  }
  batch.EndRow();
  return true;
}

// The error for a row DecodeImage refused: names the table, the column (by name when known)
// and the binlog position. Text invalid in its character set is kFailedPrecondition (the stored
// data does not match its declared set; retrying cannot help), anything else is malformed.
Status BadRow(const RowsPlan& plan, const std::string& table, std::string_view image,
              size_t column, ValueResult bad, size_t row_offset, const BinlogLocation& at) {
  std::string name = column == kNoColumn ? std::string("(null bitmap)")
                     : column < plan.column_names.size() && !plan.column_names[column].empty()
                         ? plan.column_names[column]
                         : "#" + std::to_string(column + 1);
  if (bad == ValueResult::kBadText) {
    const ColumnPlan& c = plan.columns[column];
    std::string charset = c.converter ? c.converter->charset() : std::string("its character set");
    return core::FailedPreconditionError(
        "mysql: " + std::string(image) + " of " + table + " column " + name + " at binlog " +
        at.ToString() + " (row data offset " + std::to_string(row_offset) +
        ") holds bytes that are not valid " + charset +
        " text; fix the value at the source (or exclude the column with column.exclude.list)");
  }
  return Malformed(at, std::string(image) + " of " + table + " truncated or invalid at column " +
                           name);
}

}  // namespace

Status DecodeRows(const RowsEvent& ev, const RowsPlan& plan, uint32_t txn,
                  core::EventBatch& batch, const BinlogLocation& at, DecodeStats* stats) {
  if (ev.column_count != plan.columns.size()) {
    return Malformed(at, "ROWS event has " + std::to_string(ev.column_count) +
                             " columns but its TABLE_MAP has " + std::to_string(plan.columns.size()));
  }
  BinlogReader r(ev.rows);
  std::string scratch;
  const std::string table = plan.schema ? plan.schema->id.ToString() : "?";
  while (r.remaining() > 0) {
    size_t row_start = r.pos();
    uint32_t before = core::kNoRow, after = core::kNoRow, row = 0;
    size_t bad_column = kNoColumn;
    ValueResult bad = ValueResult::kBad;
    std::string_view first = ev.op == core::Op::kCreate ? ev.present_after : ev.present_before;
    if (!DecodeImage(r, ev, first, plan, batch, scratch, stats, row, bad_column, bad)) {
      return BadRow(plan, table, "row", bad_column, bad, row_start, at);
    }
    if (ev.op == core::Op::kCreate) {
      after = row;
    } else {
      before = row;
    }
    if (ev.op == core::Op::kUpdate) {
      if (!DecodeImage(r, ev, ev.present_after, plan, batch, scratch, stats, after, bad_column,
                       bad)) {
        return BadRow(plan, table, "after image", bad_column, bad, row_start, at);
      }
    }
    batch.AddEvent({ev.op, before, after, txn, plan.schema});
    if (r.pos() == row_start) {  // an empty column bitmap would loop forever
      return Malformed(at, "row of " + table + " has no columns");
    }
  }
  return Status::Ok();
}

Result<QueryEvent> DecodeQuery(std::string_view body, const BinlogLocation& at) {
  // Post-header: thread_id(4) exec_time(4) db_len(1) error_code(2) status_vars_len(2); then
  // status vars, db name, NUL, SQL text (MySQL docs "QUERY_EVENT").
  BinlogReader r(body);
  uint64_t db_len, status_len;
  std::string_view db;
  if (!r.Skip(8) || !r.Fixed(1, db_len) || !r.Skip(2) || !r.Fixed(2, status_len) ||
      !r.Skip(status_len) || !r.Bytes(db_len, db) || !r.Skip(1)) {
    return Malformed(at, "QUERY event header");
  }
  return QueryEvent{db, r.rest()};
}

Result<RotateEvent> DecodeRotate(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  RotateEvent ev;
  if (!r.Fixed(8, ev.position) || r.remaining() == 0) return Malformed(at, "ROTATE event");
  ev.file = r.rest();
  return ev;
}

Result<MariaGtid> DecodeMariaGtid(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  MariaGtid g;
  uint64_t domain;
  if (!r.Fixed(8, g.sequence) || !r.Fixed(4, domain) || !r.U8(g.flags)) {
    return Malformed(at, "GTID event");
  }
  g.domain = static_cast<uint32_t>(domain);
  return g;
}

Result<uint64_t> DecodeXid(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  uint64_t xid;
  if (!r.Fixed(8, xid)) return Malformed(at, "XID event");
  return xid;
}

}  // namespace sluice::mysql
