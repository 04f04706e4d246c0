#include "connectors/mysql/binlog_decoder.h"

#include <libdeflate.h>

#include "connectors/mysql/binlog_values.h"

namespace sluice::mysql {

using core::Result;
using core::Status;

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
    return MalformedEvent(at, "event shorter than the 19-byte header");
  }
  if (size != event.size()) {
    return MalformedEvent(at, "event size " + std::to_string(size) + " differs from the " +
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
    if (event.size() < kEventHeaderSize + kChecksumSize) return MalformedEvent(at, "no room for the CRC32");
    body_end -= kChecksumSize;
    uint32_t stored = static_cast<uint32_t>(
        static_cast<uint8_t>(event[body_end]) | static_cast<uint8_t>(event[body_end + 1]) << 8 |
        static_cast<uint8_t>(event[body_end + 2]) << 16 |
        static_cast<uint32_t>(static_cast<uint8_t>(event[body_end + 3])) << 24);
    if (stored != Crc32(event.substr(0, body_end))) return MalformedEvent(at, "CRC32 mismatch");
  }
  raw.body = event.substr(kEventHeaderSize, body_end - kEventHeaderSize);
  return raw;
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
      return MalformedEvent(at, "event type " + std::to_string(type) + " is not a rows event");
  }
  BinlogReader r(body);
  uint64_t flags, n;
  if (!r.Fixed(6, ev.table_id) || !r.Fixed(2, flags)) return MalformedEvent(at, "ROWS post-header");
  ev.flags = static_cast<uint16_t>(flags);
  if (v2) {
    uint64_t extra;
    if (!r.Fixed(2, extra) || extra < 2 || !r.Skip(extra - 2)) return MalformedEvent(at, "ROWS v2 extra data");
  }
  if (!r.LenEnc(n) || n == 0 || n > 4096) return MalformedEvent(at, "ROWS column count");
  ev.column_count = static_cast<uint32_t>(n);
  size_t bitmap = (n + 7) / 8;
  if (!r.Bytes(bitmap, ev.present_before)) return MalformedEvent(at, "ROWS column bitmap");
  ev.present_after = ev.present_before;
  if (ev.op == core::Op::kUpdate && !r.Bytes(bitmap, ev.present_after)) {
    return MalformedEvent(at, "ROWS after-image column bitmap");
  }
  ev.rows = r.rest();
  return ev;
}

namespace {

constexpr size_t kNoColumn = static_cast<size_t>(-1);

// Decodes one row image: null bitmap over the present columns, then their values.
// `zero_dates`: the plan's mode, or kNull for ImageKey's second look.
bool DecodeImage(BinlogReader& r, const RowsEvent& ev, std::string_view present, const RowsPlan& plan,
                 ZeroDateMode zero_dates, core::EventBatch& batch, std::string& scratch,
                 DecodeStats* stats, uint32_t& row, size_t& bad_column, ValueResult& bad) {
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
    if (res == ValueResult::kBad || res == ValueResult::kBadText ||
        (res == ValueResult::kZeroDate && c.include && zero_dates == ZeroDateMode::kFail)) {
      batch.AbandonRow();  // `scratch` keeps a refused zero date's text for the message
      bad_column = i;
      bad = res;
      return false;
    }
    if (!c.include) continue;
    if (res == ValueResult::kZeroDate) {
      if (stats) ++stats->zero_dates;
      batch.AppendNull();
    } else {
      batch.AppendValue(scratch);
    }
  }
  batch.EndRow();
  return true;
}

// The primary key of the image that starts at `image_start` in `ev.rows`, as "id=7, k=x", for
// the message of a refused zero date (the error path only: the image is decoded again with zero
// dates as NULL, into a batch of its own). Empty when the table has no key.
std::string ImageKey(const RowsEvent& ev, std::string_view present, const RowsPlan& plan,
                     size_t image_start) {
  if (!plan.schema || plan.schema->key.empty()) return {};
  BinlogReader r(ev.rows);
  core::EventBatch batch;
  std::string scratch;
  uint32_t row = 0;
  size_t bad_column = kNoColumn;
  ValueResult bad = ValueResult::kOk;
  if (!r.Skip(image_start) || !DecodeImage(r, ev, present, plan, ZeroDateMode::kNull, batch,
                                           scratch, nullptr, row, bad_column, bad)) {
    return {};
  }
  core::RowView view = batch.row(row);
  std::string key;
  for (uint32_t k : plan.schema->key) {
    if (k >= plan.schema->columns.size()) return {};
    if (!key.empty()) key += ", ";
    key += plan.schema->columns[k].name + "=" +
           (view.is_present(k) ? Printable(view.text(k)) : std::string("NULL"));
  }
  return key;
}

// The error for a row DecodeImage refused: names the table, the column (by name when known)
// and the binlog position. Text invalid in its character set and a refused zero date (`value`,
// as the server prints it) are kFailedPrecondition (the stored data has no exact image;
// retrying cannot help), anything else is malformed.
Status BadRow(const RowsPlan& plan, const std::string& table, std::string_view image,
              size_t column, ValueResult bad, std::string_view value, const std::string& key,
              size_t row_offset, const BinlogLocation& at) {
  std::string name = column == kNoColumn ? std::string("(null bitmap)")
                     : column < plan.column_names.size() && !plan.column_names[column].empty()
                         ? plan.column_names[column]
                         : "#" + std::to_string(column + 1);
  if (bad == ValueResult::kBadText || bad == ValueResult::kZeroDate) {
    std::string what;
    if (bad == ValueResult::kZeroDate) {
      what = ZeroDateRefusal(value);
    } else {
      const ColumnPlan& c = plan.columns[column];
      what = "holds bytes that are not valid " +
             (c.converter ? c.converter->charset() : std::string("its character set")) +
             " text; fix the value at the source (or exclude the column with column.exclude.list)";
    }
    return core::FailedPreconditionError("mysql: " + std::string(image) + " of " + table +
                                         (key.empty() ? "" : " with " + key) + " column " +
                                         name + " at binlog " + at.ToString() +
                                         " (row data offset " + std::to_string(row_offset) +
                                         ") " + what);
  }
  return MalformedEvent(at, std::string(image) + " of " + table + " truncated or invalid at column " +
                           name);
}

}  // namespace

Status DecodeRows(const RowsEvent& ev, const RowsPlan& plan, uint32_t txn,
                  core::EventBatch& batch, const BinlogLocation& at, DecodeStats* stats,
                  uint32_t query) {
  if (ev.column_count != plan.columns.size()) {
    return MalformedEvent(at, "ROWS event has " + std::to_string(ev.column_count) +
                             " columns but its TABLE_MAP has " + std::to_string(plan.columns.size()));
  }
  BinlogReader r(ev.rows);
  std::string scratch;
  const std::string table = plan.schema ? plan.schema->id.ToString() : "?";
  uint32_t index = 0;  // the row's index within this event (Debezium's source "row")
  while (r.remaining() > 0) {
    size_t row_start = r.pos();
    uint32_t before = core::kNoRow, after = core::kNoRow, row = 0;
    size_t bad_column = kNoColumn;
    ValueResult bad = ValueResult::kBad;
    std::string_view first = ev.op == core::Op::kCreate ? ev.present_after : ev.present_before;
    // A refused zero date's message names the row by its key, decoded again from here.
    auto key_of = [&](std::string_view present, size_t image_start) {
      return bad == ValueResult::kZeroDate ? ImageKey(ev, present, plan, image_start)
                                           : std::string();
    };
    if (!DecodeImage(r, ev, first, plan, plan.zero_dates, batch, scratch, stats, row, bad_column,
                     bad)) {
      return BadRow(plan, table, "row", bad_column, bad, scratch, key_of(first, row_start),
                    row_start, at);
    }
    if (ev.op == core::Op::kCreate) {
      after = row;
    } else {
      before = row;
    }
    if (ev.op == core::Op::kUpdate) {
      size_t after_start = r.pos();
      if (!DecodeImage(r, ev, ev.present_after, plan, plan.zero_dates, batch, scratch, stats,
                       after, bad_column, bad)) {
        return BadRow(plan, table, "after image", bad_column, bad, scratch,
                      key_of(ev.present_after, after_start), row_start, at);
      }
    }
    batch.AddEvent({.op = ev.op, .before = before, .after = after, .txn = txn, .table = plan.schema,
                    .source_row = index++, .source_pos = at.pos, .query = query});
    if (r.pos() == row_start) {  // an empty column bitmap would loop forever
      return MalformedEvent(at, "row of " + table + " has no columns");
    }
  }
  return Status::Ok();
}

Result<QueryEvent> DecodeQuery(std::string_view body, const BinlogLocation& at) {
  // Post-header: thread_id(4) exec_time(4) db_len(1) error_code(2) status_vars_len(2); then
  // status vars, db name, NUL, SQL text (MySQL docs "QUERY_EVENT").
  BinlogReader r(body);
  uint64_t thread_id, db_len, status_len;
  std::string_view db;
  if (!r.Fixed(4, thread_id) || !r.Skip(4) || !r.Fixed(1, db_len) || !r.Skip(2) ||
      !r.Fixed(2, status_len) || !r.Skip(status_len) || !r.Bytes(db_len, db) || !r.Skip(1)) {
    return MalformedEvent(at, "QUERY event header");
  }
  return QueryEvent{db, r.rest(), static_cast<uint32_t>(thread_id)};
}

Result<std::string_view> DecodeRowsQuery(uint8_t type, std::string_view body,
                                        const BinlogLocation& at) {
  switch (static_cast<EventType>(type)) {
    case EventType::kAnnotateRows:
      return body;
    case EventType::kRowsQuery:
      // The length byte holds only the low 8 bits of long statements: the text runs to the end.
      if (body.empty()) return MalformedEvent(at, "ROWS_QUERY event without its length byte");
      return body.substr(1);
    default:
      return MalformedEvent(at, "event type " + std::to_string(type) + " is not a rows query event");
  }
}

Result<RotateEvent> DecodeRotate(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  RotateEvent ev;
  if (!r.Fixed(8, ev.position) || r.remaining() == 0) return MalformedEvent(at, "ROTATE event");
  ev.file = r.rest();
  return ev;
}

Result<MariaGtid> DecodeMariaGtid(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  MariaGtid g;
  uint64_t domain;
  if (!r.Fixed(8, g.sequence) || !r.Fixed(4, domain) || !r.U8(g.flags)) {
    return MalformedEvent(at, "GTID event");
  }
  g.domain = static_cast<uint32_t>(domain);
  return g;
}

Result<uint64_t> DecodeXid(std::string_view body, const BinlogLocation& at) {
  BinlogReader r(body);
  uint64_t xid;
  if (!r.Fixed(8, xid)) return MalformedEvent(at, "XID event");
  return xid;
}

}  // namespace sluice::mysql
