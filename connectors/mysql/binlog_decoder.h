// Pure decoder of MySQL/MariaDB binlog events: bytes in, events out. Never trusts its input:
// every read is bounds-checked and a malformed event yields kDataLoss naming "file:pos", never
// a crash.
//
// Formats implemented (binlog version 4):
//  - MySQL Source Code docs, "Replication / Binary Log / Event Structure" (19-byte common
//    header: timestamp, type, server_id, event_size, log_pos, flags) and the CRC32 checksum
//    trailer (binlog_checksum=CRC32).
//  - TABLE_MAP_EVENT: post-header table_id(6) flags(2); body schema, table, column count
//    (length-encoded), types, metadata block, null bitmap, optional metadata TLVs
//    (binlog_row_metadata=FULL: signedness, charsets, column names, enum/set values, primary key),
//    as in MySQL libbinlogevents rows_event.h and MariaDB sql/log_event.h.
//  - WRITE/UPDATE/DELETE_ROWS_EVENT v1 (types 23-25, MariaDB's default) and v2 (30-32, MySQL 8):
//    table_id(6) flags(2) [v2: extra_data_len(2) extra data], column count, present-columns
//    bitmap(s), then rows: null bitmap + values (MySQL docs "Rows_event"; value encodings in
//    mysql_types.h).
//  - ROWS_QUERY_LOG_EVENT (MySQL, type 29, binlog_rows_query_log_events=ON: length(1), then the
//    statement text to the end, the length byte being truncated for long statements) and
//    ANNOTATE_ROWS_EVENT (MariaDB, type 160, binlog_annotate_row_events=ON: the text is the
//    whole body): the SQL statement of the ROWS events that follow, up to STMT_END_F.
//  - QUERY_EVENT (schema + SQL text), ROTATE_EVENT, XID_EVENT, MariaDB GTID_EVENT (type 162:
//    sequence(8) domain(4) flags(1)), FORMAT_DESCRIPTION_EVENT.
//
// Thread-safety: the functions are pure; a RowsPlan is immutable once built and may be shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/charset_converter.h"
#include "connectors/mysql/mysql_types.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::mysql {

// Event type codes (MariaDB sql/log_event.h, MySQL binlog_event.h).
enum class EventType : uint8_t {
  kQuery = 2,
  kStop = 3,
  kRotate = 4,
  kFormatDescription = 15,
  kXid = 16,
  kTableMap = 19,
  kWriteRowsV1 = 23,
  kUpdateRowsV1 = 24,
  kDeleteRowsV1 = 25,
  kHeartbeat = 27,
  kWriteRowsV2 = 30,
  kUpdateRowsV2 = 31,
  kDeleteRowsV2 = 32,
  kRowsQuery = 29,
  kMysqlGtid = 33,
  kAnnotateRows = 160,
  kBinlogCheckpoint = 161,
  kMariaGtid = 162,
  kMariaGtidList = 163,
  kQueryCompressed = 165,
  kWriteRowsCompressedV1 = 166,
  kDeleteRowsCompressed = 171,
};

inline constexpr size_t kEventHeaderSize = 19;
inline constexpr size_t kChecksumSize = 4;

// Where an event starts, for error messages ("bin.000003:1234").
struct BinlogLocation {
  std::string_view file;
  uint64_t pos = 0;
  std::string ToString() const;
};

struct EventHeader {
  uint32_t timestamp = 0;
  uint8_t type = 0;
  uint32_t server_id = 0;
  uint32_t event_size = 0;
  uint32_t next_position = 0;  // log_pos: where the next event starts (0 for artificial events)
  uint16_t flags = 0;
};

// Splits one raw event (header + body [+ CRC32]) into header and body. With `has_checksum`
// the trailing CRC32 is verified (kDataLoss on mismatch) and excluded from the body.
struct RawEvent {
  EventHeader header;
  std::string_view body;  // after the common header, without the checksum
};
core::Result<RawEvent> SplitEvent(std::string_view event, bool has_checksum,
                                  const BinlogLocation& at);

// CRC32 (IEEE, as zlib crc32()) of `data`.
uint32_t Crc32(std::string_view data);

// A decoded TABLE_MAP_EVENT.
struct TableMap {
  uint64_t table_id = 0;
  std::string database;
  std::string table;
  std::vector<uint8_t> types;       // binlog column types, one per column
  std::vector<uint16_t> metadata;   // per-column metadata (see mysql_types.h), 0 when none
  std::vector<bool> nullable;
  // Optional metadata (binlog_row_metadata=FULL); empty when the server did not send it.
  std::vector<std::string> column_names;
  std::vector<bool> is_unsigned;            // per column (false for non-numeric columns)
  std::vector<uint32_t> collations;         // per column; 0 when not a character column
  std::vector<std::vector<std::string>> labels;  // per column: enum/set labels (UTF-8), else empty
  std::vector<uint32_t> primary_key;
  bool has_signedness = false;
  bool has_charsets = false;
};
core::Result<TableMap> DecodeTableMap(std::string_view body, const BinlogLocation& at);

// How to render each binlog column of one table into the batch. Built once per TABLE_MAP and
// schema version (BuildRowsPlan), then reused for every row.
struct ColumnPlan {
  uint8_t type = 0;          // binlog type (for STRING: the real type, ENUM/SET/STRING)
  uint16_t meta = 0;         // binlog metadata (for STRING: the length / pack length)
  bool is_unsigned = false;
  bool include = true;       // false: column excluded (column.exclude.list) — not emitted
  bool as_bool = false;      // BIT(1) -> "t"/"f"
  CharsetKind charset = CharsetKind::kBinary;
  const CharsetConverter* converter = nullptr;  // for CharsetKind::kOther, owned by the plan
  const std::vector<std::string>* labels = nullptr;  // ENUM/SET labels, owned by the plan
  FixedBinaryText text_form = FixedBinaryText::kNone;  // INET4/INET6/UUID: bytes -> server text
};

struct RowsPlan {
  uint64_t table_id = 0;
  ZeroDateMode zero_dates = ZeroDateMode::kFail;  // zero.date.handling.mode
  core::TableSchemaPtr schema;  // the emitted columns, in binlog order
  std::vector<ColumnPlan> columns;  // one per binlog column
  std::vector<std::vector<std::string>> owned_labels;
  std::vector<std::string> column_names;  // one per binlog column, for error messages
  std::vector<std::shared_ptr<const CharsetConverter>> owned_converters;
};

// Combines a TABLE_MAP with the table's schema (from information_schema, columns named
// `schema_columns` in table order, with their charset/unsigned/labels) into a plan. When the
// binlog column count differs from the schema's, returns kFailedPrecondition (the caller
// re-reads the schema or builds one from the TABLE_MAP with SchemaFromTableMap).
// `excluded[i]` marks schema columns left out of events; `zero_dates` says what DecodeRows does
// with a zero date (zero.date.handling.mode).
struct SchemaColumnInfo {
  CharsetKind charset = CharsetKind::kBinary;
  std::shared_ptr<const CharsetConverter> converter;  // set for CharsetKind::kOther
  bool is_unsigned = false;
  bool bit_as_bool = false;
  std::vector<std::string> labels;
  FixedBinaryText text_form = FixedBinaryText::kNone;  // MariaDB INET4/INET6/UUID
};
core::Result<std::shared_ptr<const RowsPlan>> BuildRowsPlan(
    const TableMap& map, core::TableSchemaPtr schema,
    const std::vector<SchemaColumnInfo>& info, const std::vector<bool>& excluded,
    ZeroDateMode zero_dates = ZeroDateMode::kFail);

// A schema and column info made from the TABLE_MAP alone (names from FULL metadata, else
// "col_<n>"), for when information_schema no longer matches an old event.
void SchemaFromTableMap(const TableMap& map, core::TableSchema& schema,
                        std::vector<SchemaColumnInfo>& info);

// ROWS event flag: the last ROWS event of its statement (MySQL's STMT_END_F).
inline constexpr uint16_t kRowsStatementEnd = 0x0001;

// The ROWS event's table and row image layout.
struct RowsEvent {
  uint64_t table_id = 0;
  uint16_t flags = 0;
  core::Op op = core::Op::kCreate;
  uint32_t column_count = 0;
  std::string_view present_before;  // bitmap of columns in the before image (or only image)
  std::string_view present_after;   // UPDATE: bitmap of the after image
  std::string_view rows;            // the row data
};
// `type` is the event type (v1 or v2 write/update/delete).
core::Result<RowsEvent> DecodeRowsHeader(uint8_t type, std::string_view body,
                                         const BinlogLocation& at);

// Counters of values the decoder changed on the way (zero dates made NULL under
// zero.date.handling.mode=null).
struct DecodeStats {
  uint64_t zero_dates = 0;
};

// Appends every row of `rows` to `batch` as events (one per row; UPDATE: before+after), with
// transaction index `txn`, each with its index within the event and the event's position
// (`at.pos`) as ChangeEvent::source_row / source_pos. On error the batch holds only whole rows
// appended before it. A zero date in an emitted column is NULL (counted in `stats`) when the
// plan's mode is kNull, else kFailedPrecondition naming the table, the column, the value and the
// binlog position. Every event gets `query` (an EventBatch::AddQuery index) as its statement.
core::Status DecodeRows(const RowsEvent& rows, const RowsPlan& plan, uint32_t txn,
                        core::EventBatch& batch, const BinlogLocation& at, DecodeStats* stats,
                        uint32_t query = core::kNoQuery);

// The SQL text of a ROWS_QUERY_LOG_EVENT (`type` kRowsQuery) or ANNOTATE_ROWS_EVENT
// (kAnnotateRows); a view into `body`.
core::Result<std::string_view> DecodeRowsQuery(uint8_t type, std::string_view body,
                                               const BinlogLocation& at);

struct QueryEvent {
  std::string_view database;  // default database of the statement
  std::string_view sql;
  uint32_t thread_id = 0;     // the session that ran it (Debezium's source "thread")
};
core::Result<QueryEvent> DecodeQuery(std::string_view body, const BinlogLocation& at);

struct RotateEvent {
  uint64_t position = 0;
  std::string_view file;
};
core::Result<RotateEvent> DecodeRotate(std::string_view body, const BinlogLocation& at);

struct MariaGtid {
  uint64_t sequence = 0;
  uint32_t domain = 0;
  uint8_t flags = 0;
  bool standalone() const { return (flags & 1) != 0; }  // FL_STANDALONE: no XID follows (DDL)
};
core::Result<MariaGtid> DecodeMariaGtid(std::string_view body, const BinlogLocation& at);

core::Result<uint64_t> DecodeXid(std::string_view body, const BinlogLocation& at);

}  // namespace sluice::mysql
