// The change-event model shared by every source and sink.
//
// Values travel as canonical text (see LogicalType below) in one byte buffer per batch: a batch
// of N rows costs a handful of allocations, not one per value. Table schemas are immutable and
// shared (std::shared_ptr<const TableSchema>); a schema change produces a new schema with a
// higher version.
//
// Thread-safety: an EventBatch is owned by one thread at a time (the source fills it, the queue
// hands it to the sink thread). TableSchema is immutable and may be shared freely.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::core {

// Logical types, close to Debezium's. Canonical text of a present value, by type:
//   kBool          "t" or "f"
//   kInt16/32/64   decimal digits with optional '-'
//   kFloat32/64    shortest round-trip decimal, or "NaN", "Infinity", "-Infinity"
//   kDecimal       exact decimal text ("-12.3400"), or "NaN", "Infinity", "-Infinity"
//   kString, kEnum, kUnknown  UTF-8 text as the source has it (unknown: the source's text form)
//   kBytes         the raw bytes (not hex, not base64)
//   kJson          JSON text
//   kUuid          8-4-4-4-12 lowercase hex
//   kDate          "YYYY-MM-DD" (a year past 9999 has more digits, BC dates end in " BC"),
//                  or "infinity" / "-infinity"
//   kTime          "HH:MM:SS[.ffffff]"
//   kTimestamp     "YYYY-MM-DD HH:MM:SS[.ffffff]" (no zone), or "infinity" / "-infinity"
//   kTimestampTz   "YYYY-MM-DD HH:MM:SS[.ffffff]+00" always in UTC, or "infinity" / "-infinity"
//   kInterval      ISO 8601 duration "P1Y2M3DT4H5M6.5S" (PostgreSQL's iso_8601 style)
//   kArray         JSON array text, elements in their canonical form as JSON values
enum class LogicalType : uint8_t {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kDecimal,
  kString,
  kBytes,
  kJson,
  kUuid,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,
  kInterval,
  kEnum,
  kArray,
  kUnknown,
};

std::string_view LogicalTypeName(LogicalType type);
// Parses a name produced by LogicalTypeName; nullopt when unknown.
std::optional<LogicalType> LogicalTypeFromName(std::string_view name);

struct TableId {
  std::string schema;  // PostgreSQL schema; for MySQL sources, the database
  std::string table;

  std::string ToString() const { return schema + "." + table; }
  friend bool operator==(const TableId&, const TableId&) = default;
  friend auto operator<=>(const TableId&, const TableId&) = default;
};

struct Column {
  std::string name;
  LogicalType type = LogicalType::kString;
  std::string source_type;  // the source's own type text, e.g. "numeric(12,2)", "varchar(64)"
  bool nullable = true;
  // Optional type details from the source, 0 when not known.
  int32_t length = 0;     // character/byte length (varchar(n), char(n), binary(n))
  int32_t precision = 0;  // numeric precision, or fractional-second digits for temporal types
  int32_t scale = 0;      // numeric scale
  bool is_unsigned = false;  // MySQL UNSIGNED integers
  std::vector<std::string> enum_values;  // kEnum: the allowed labels, when known
  // Extra Kafka Connect schema parameters a column rule adds, in order (Debezium's column
  // mappers: column.mask.* gives masked=true, column.truncate.to.* truncateLength=<n>).
  std::vector<std::pair<std::string, std::string>> schema_parameters;
  // The column's comment at the source (PostgreSQL col_description, MySQL COLUMN_COMMENT), ""
  // when none or not read. The envelope writes it as the field schema's "doc" with Debezium's
  // include.schema.comments=true (ValueModes::schema_comments).
  std::string comment;
};

// A stored generated column (PostgreSQL `GENERATED ALWAYS AS (expression) STORED`): computed by
// the database and never part of the rows (pgoutput does not send it). A PostgreSQL target
// recreates it from the expression; other targets do not have it.
struct GeneratedColumn {
  std::string name;
  std::string source_type;  // the source's type text, e.g. "integer"
  std::string expression;   // the source's expression text (pg_get_expr), in its SQL dialect
  friend bool operator==(const GeneratedColumn&, const GeneratedColumn&) = default;
};

// Immutable once published; share it as std::shared_ptr<const TableSchema>.
struct TableSchema {
  TableId id;
  std::string database;         // source database name (source.db in the envelope)
  std::vector<Column> columns;
  std::vector<uint32_t> key;    // indexes into columns: primary key (or replica identity)
  std::vector<GeneratedColumn> generated;  // not in `columns`, never in rows
  uint64_t version = 1;         // bumped on every change of columns or key

  // Index of the column named `name`, or -1.
  int FindColumn(std::string_view name) const;
  bool HasKey() const { return !key.empty(); }
};

using TableSchemaPtr = std::shared_ptr<const TableSchema>;

enum class Op : char {
  kRead = 'r',      // snapshot read
  kCreate = 'c',
  kUpdate = 'u',
  kDelete = 'd',
  kTruncate = 't',
};

// The state of one value in a row.
enum class CellState : uint8_t {
  kNull,       // SQL NULL
  kUnchanged,  // the source did not send it (unchanged TOAST): sinks leave the target as it is
  kPresent,    // text in the batch buffer
};

struct Cell {
  uint32_t offset = 0;
  uint32_t length = 0;
  CellState state = CellState::kNull;
};

// An opaque, source-defined resume position (serialized text, typically JSON). Sinks store it
// verbatim; only the source that produced it interprets it. Totally ordered within a connector.
struct SourcePosition {
  std::string value;

  bool empty() const { return value.empty(); }
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

// Source metadata shared by every event of one transaction (or one snapshot chunk); goes into
// the envelope's "source" block.
struct TxnInfo {
  int64_t ts_ms = 0;      // commit time at the source, ms since epoch (snapshot: its start)
  bool snapshot = false;  // part of the initial snapshot
  bool last_snapshot_event = false;
  uint64_t txid = 0;      // PostgreSQL xid; 0 when none
  uint64_t lsn = 0;       // PostgreSQL: the commit's LSN (stream) or consistent point (snapshot)
  std::string file;       // MySQL binlog file
  uint64_t pos = 0;       // MySQL binlog position of the transaction's start
  std::string gtid;       // MySQL/MariaDB GTID of the transaction, empty when none
  uint32_t server_id = 0;  // MySQL: server id in the binlog event header of the transaction
  int64_t thread = -1;     // MySQL: thread id of its BEGIN/DDL query event; -1 when unknown
  int64_t ts_us = 0;  // commit time in microseconds when the source has them; 0: ts_ms * 1000
  // PostgreSQL: where the last transaction committed before this one ends (the XLogData start
  // of its Commit message; Debezium's lsn_commit, the first element of "sequence"); 0: unknown.
  uint64_t last_commit_lsn = 0;
  // PostgreSQL with xmin.fetch.interval.ms: the replication slot's catalog_xmin as last read
  // before the transaction's BEGIN (Debezium's source.xmin); 0: not tracked (null).
  uint64_t xmin = 0;
};

// A transaction's BEGIN or COMMIT in a stream batch, for Debezium's transaction metadata
// (provide.transaction.metadata). Sources that report them (PostgreSQL, MySQL/MariaDB) add one
// for every transaction they stream, also one without captured events, as Debezium writes
// BEGIN/END for those too. `event_index`: how many of the batch's events come before the boundary.
struct TxnBoundary {
  uint32_t event_index = 0;
  bool begin = true;  // false: the commit
  uint64_t txid = 0;  // PostgreSQL xid
  uint64_t lsn = 0;   // PostgreSQL: the LSN of the BEGIN / COMMIT message (its XLogData start)
  int64_t ts_ms = 0;  // BEGIN / COMMIT time at the source, ms since epoch
  // The transaction's id as Debezium writes it, when the source has one of its own (MySQL:
  // BinlogTransactionId); empty: PostgreSQL's "<txid>:<lsn>".
  std::string id;
};

// Debezium's MySQL/MariaDB transaction id: the GTID when the transaction has one (MariaDB:
// "<domain>-<server>-<seq>"), else "file=<binlog file>,pos=<position of its BEGIN>".
std::string BinlogTransactionId(std::string_view gtid, std::string_view file, uint64_t pos);

inline constexpr uint32_t kNoRow = UINT32_MAX;
inline constexpr uint32_t kNoQuery = UINT32_MAX;  // ChangeEvent::query: no statement text

struct ChangeEvent {
  Op op = Op::kCreate;
  uint32_t before = kNoRow;  // row index in the batch, or kNoRow
  uint32_t after = kNoRow;
  uint32_t txn = 0;          // index into EventBatch::txns()
  TableSchemaPtr table;
  uint64_t lsn = 0;  // PostgreSQL stream: the LSN of the change's own message; 0 when none
  // MySQL binlog: the row's index within its ROWS event, and where that event starts (0: the
  // transaction's TxnInfo::pos). Debezium's source "row" and "pos".
  uint32_t source_row = 0;
  uint64_t source_pos = 0;
  // MySQL binlog with include.query=true: the SQL statement that made the change (index into
  // EventBatch::query(), one entry per statement, shared by its rows), or kNoQuery.
  uint32_t query = kNoQuery;
};

// A schema change (a DDL statement) as Debezium's MySQL connector publishes it on its schema-change
// topic (include.schema.changes): the statement, the database it applies to and, per table it
// changed, the table's structure afterwards. Sources that emit them: MySQL/MariaDB. Sinks that
// keep no schema topic (databases, files) skip them. Rare (one per DDL), so the model favours
// plain strings over the batch's shared buffers.
struct SchemaChangeColumn {
  std::string name;
  int32_t jdbc_type = 0;          // java.sql.Types code, as Debezium's DDL parser maps the type
  std::string type_name;          // "INT UNSIGNED", "VARCHAR", "ENUM"
  std::string type_expression;    // Debezium's MySQL connector writes the type name here too
  std::optional<std::string> charset_name;
  std::optional<int32_t> length;  // varchar(n), int(n), decimal(p,_), datetime(n)
  std::optional<int32_t> scale;   // decimal(_,s)
  int32_t position = 0;           // 1-based, in the table's column order
  bool optional = true;           // nullable
  bool auto_incremented = false;
  bool generated = false;         // Debezium: AUTO_INCREMENT columns and generated columns
  std::optional<std::string> comment;
  bool has_default_value = false;
  std::optional<std::string> default_value_expression;
  std::vector<std::string> enum_values;  // ENUM/SET labels; empty: null
};

struct SchemaChangeTable {
  enum class Type : uint8_t { kCreate, kAlter, kDrop };
  Type type = Type::kAlter;
  TableId id;
  bool has_table = false;  // false: "table" is null (a DROP)
  std::optional<std::string> default_charset_name;
  std::vector<std::string> primary_key_column_names;
  std::vector<SchemaChangeColumn> columns;
  std::optional<std::string> comment;
};

std::string_view SchemaChangeTypeName(SchemaChangeTable::Type type);

struct SchemaChange {
  uint32_t event_index = 0;  // how many of the batch's events come before it
  uint32_t txn = 0;          // index into EventBatch::txns(): the source block's transaction
  uint64_t source_pos = 0;   // where the DDL's binlog event starts (source "pos")
  std::string database;      // databaseName (and the key)
  std::string ddl;           // the statement as the source logged it
  std::vector<SchemaChangeTable> tables;  // tableChanges, in the statement's order
};

// A logical decoding message (PostgreSQL's pg_logical_emit_message(transactional, prefix,
// content)), as Debezium's PostgreSQL connector publishes it on `<topic.prefix>.message`. A
// transactional one belongs to its transaction and sits among its changes; a non-transactional
// one stands alone, outside any transaction. Prefix and content live in the batch's buffer
// (EventBatch::message_prefix/message_content), so a message costs no allocation of its own.
// Sinks that keep no such topic (databases) skip them, as they skip schema changes.
struct LogicalMessage {
  uint32_t event_index = 0;  // how many of the batch's events come before it
  uint32_t txn = 0;          // index into EventBatch::txns(): the source block's transaction
  bool transactional = false;
  uint64_t lsn = 0;          // the message's LSN as the server reports it
  // The source block's database (TableSchema::database); schema and table are empty, as
  // Debezium's source block of a message has them. Shared by every message of a source.
  TableSchemaPtr source;
  uint32_t prefix_offset = 0;
  uint32_t prefix_length = 0;
  uint32_t content_offset = 0;
  uint32_t content_length = 0;
};

class EventBatch;

// Read access to one row of a batch; valid while the batch is not modified.
class RowView {
 public:
  RowView(const Cell* cells, uint32_t size, const char* data)
      : cells_(cells), size_(size), data_(data) {}
  uint32_t size() const { return size_; }
  CellState state(uint32_t i) const { return cells_[i].state; }
  bool is_null(uint32_t i) const { return cells_[i].state == CellState::kNull; }
  bool is_unchanged(uint32_t i) const { return cells_[i].state == CellState::kUnchanged; }
  bool is_present(uint32_t i) const { return cells_[i].state == CellState::kPresent; }
  // The canonical text of a present value (empty for null/unchanged).
  std::string_view text(uint32_t i) const {
    return {data_ + cells_[i].offset, cells_[i].length};
  }

 private:
  const Cell* cells_;
  uint32_t size_;
  const char* data_;
};

// True when the key columns of `schema` hold the same values in `a` and `b` (same state, same
// text). An update whose before and after images differ here moved its row to another key.
bool SameKey(const TableSchema& schema, const RowView& a, const RowView& b);

// A batch of change events with their rows and transaction metadata. Reused: Clear() keeps the
// capacity of its buffers, so a steady pipeline allocates nothing per batch.
//
// Building a row:
//   uint32_t row = batch.BeginRow();
//   batch.AppendValue("42"); batch.AppendNull(); batch.AppendUnchanged();
//   batch.EndRow();
//   batch.AddEvent({Op::kCreate, kNoRow, row, txn, schema});
class EventBatch {
 public:
  void Clear();

  // Rows.
  uint32_t BeginRow();
  void AppendNull() { AppendCell(CellState::kNull, 0, 0); }
  void AppendUnchanged() { AppendCell(CellState::kUnchanged, 0, 0); }
  void AppendValue(std::string_view text);
  // Reserves `n` bytes for a value written in place; the pointer is valid until the next
  // Append*/BeginRow call. Use ShrinkLastValue() when fewer bytes were written.
  char* AppendValueSpace(uint32_t n);
  void ShrinkLastValue(uint32_t actual_length);
  // Appends `suffix` to the last appended present value (values built in pieces).
  void ExtendLastValue(std::string_view suffix);
  void EndRow();
  // Copies a row of another batch as a new row: its present values, NULL for every other cell
  // (NULL or unchanged). Returns the new row's index.
  uint32_t AppendValuesOf(const RowView& row);
  // Drops the row begun last (e.g. a decode error half way).
  void AbandonRow();
  RowView row(uint32_t index) const;
  uint32_t row_count() const { return static_cast<uint32_t>(rows_.size()); }

  // Transactions.
  uint32_t AddTxn(TxnInfo info);
  const TxnInfo& txn(uint32_t index) const { return txns_[index]; }
  const std::vector<TxnInfo>& txns() const { return txns_; }

  // Transaction boundaries (see TxnBoundary), in event order.
  void AddBoundary(TxnBoundary boundary) { boundaries_.push_back(boundary); }
  const std::vector<TxnBoundary>& boundaries() const { return boundaries_; }

  // SQL statements of the source (MySQL's include.query), stored once per statement; events
  // refer to them by index (ChangeEvent::query).
  uint32_t AddQuery(std::string_view sql);
  std::string_view query(uint32_t index) const {
    return std::string_view(query_text_).substr(query_spans_[index].first, query_spans_[index].second);
  }
  uint32_t query_count() const { return static_cast<uint32_t>(query_spans_.size()); }

  // Schema changes (see SchemaChange), in event order. A batch that carries one is not empty
  // for the pipeline (it is always handed to the sink), though empty() still counts events only.
  void AddSchemaChange(SchemaChange change) { schema_changes_.push_back(std::move(change)); }
  const std::vector<SchemaChange>& schema_changes() const { return schema_changes_; }

  // Logical decoding messages (see LogicalMessage), in event order. Like a schema change, a
  // batch that carries one is handed to the sink even without events. `message`'s offsets and
  // lengths are set here; prefix and content are copied into the batch's buffer.
  void AddLogicalMessage(LogicalMessage message, std::string_view prefix, std::string_view content);
  const std::vector<LogicalMessage>& logical_messages() const { return messages_; }
  std::string_view message_prefix(const LogicalMessage& m) const {
    return std::string_view(data_).substr(m.prefix_offset, m.prefix_length);
  }
  std::string_view message_content(const LogicalMessage& m) const {
    return std::string_view(data_).substr(m.content_offset, m.content_length);
  }

  // Events.
  void AddEvent(ChangeEvent event) { events_.push_back(std::move(event)); }
  const std::vector<ChangeEvent>& events() const { return events_; }
  // Gives the last event a copy of its transaction info with last_snapshot_event set (a
  // snapshot marks its final row this way, as Debezium's "snapshot":"last"). No-op when empty.
  void MarkLastSnapshotEvent();
  size_t size() const { return events_.size(); }
  // True when the batch carries no event (it may still carry announced tables, schema changes
  // or a checkpoint).
  bool empty() const { return events_.empty(); }

  // Tables the source announces without (or before) any row: a snapshot announces every table
  // it is about to read, so that sinks that create tables do so even for an empty source
  // table. Sinks that keep no schema ignore them; for the others an announcement means "make
  // sure this table exists with this schema", and it is idempotent. Announcements are applied
  // before the batch's events.
  void AnnounceTable(TableSchemaPtr table) { announced_.push_back(std::move(table)); }
  const std::vector<TableSchemaPtr>& announced_tables() const { return announced_; }

  // The position that is safe to resume from once every event of this batch (and all before
  // it) is durable; empty when the batch ends inside a transaction that cannot be resumed
  // mid-way (the previous checkpoint then stays in force).
  const SourcePosition& checkpoint() const { return checkpoint_; }
  void set_checkpoint(SourcePosition position) { checkpoint_ = std::move(position); }

  // Approximate memory held by the batch's contents, for the queue's byte bound.
  size_t ByteSize() const;

 private:
  struct RowSpan {
    uint32_t first_cell;
    uint32_t cell_count;
  };
  size_t SchemaChangeBytes() const;
  void AppendCell(CellState state, uint32_t offset, uint32_t length) {
    cells_.push_back(Cell{offset, length, state});
  }

  std::string data_;
  std::vector<Cell> cells_;
  std::vector<RowSpan> rows_;
  std::vector<TxnInfo> txns_;
  std::vector<ChangeEvent> events_;
  std::vector<TxnBoundary> boundaries_;
  std::vector<SchemaChange> schema_changes_;
  std::vector<LogicalMessage> messages_;
  std::vector<TableSchemaPtr> announced_;
  std::string query_text_;
  std::vector<std::pair<uint32_t, uint32_t>> query_spans_;  // offset, length in query_text_
  SourcePosition checkpoint_;
  uint32_t open_row_first_cell_ = 0;
  bool row_open_ = false;
};

}  // namespace sluice::core
