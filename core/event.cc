#include "core/event.h"

#include <array>
#include <cassert>

namespace sluice::core {

namespace {
constexpr std::array<std::string_view, 19> kTypeNames = {
    "bool", "int16", "int32", "int64", "float32", "float64", "decimal", "string", "bytes",  "json",
    "uuid", "date",  "time",  "timestamp", "timestamptz", "interval", "enum", "array", "unknown"};
}  // namespace

std::string_view LogicalTypeName(LogicalType type) {
  return kTypeNames[static_cast<size_t>(type)];
}

std::optional<LogicalType> LogicalTypeFromName(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<LogicalType>(i);
  }
  return std::nullopt;
}

int TableSchema::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void EventBatch::Clear() {
  data_.clear();
  cells_.clear();
  rows_.clear();
  txns_.clear();
  events_.clear();
  boundaries_.clear();
  schema_changes_.clear();
  messages_.clear();
  announced_.clear();
  query_text_.clear();
  query_spans_.clear();
  checkpoint_.value.clear();
  row_open_ = false;
}

uint32_t EventBatch::BeginRow() {
  assert(!row_open_);
  row_open_ = true;
  open_row_first_cell_ = static_cast<uint32_t>(cells_.size());
  return static_cast<uint32_t>(rows_.size());
}

void EventBatch::AppendValue(std::string_view text) {
  auto offset = static_cast<uint32_t>(data_.size());
  data_.append(text);
  AppendCell(CellState::kPresent, offset, static_cast<uint32_t>(text.size()));
}

char* EventBatch::AppendValueSpace(uint32_t n) {
  auto offset = static_cast<uint32_t>(data_.size());
  data_.resize(data_.size() + n);
  AppendCell(CellState::kPresent, offset, n);
  return data_.data() + offset;
}

void EventBatch::ShrinkLastValue(uint32_t actual_length) {
  Cell& cell = cells_.back();
  assert(actual_length <= cell.length);
  data_.resize(cell.offset + actual_length);
  cell.length = actual_length;
}

void EventBatch::ExtendLastValue(std::string_view suffix) {
  Cell& cell = cells_.back();
  assert(cell.state == CellState::kPresent && cell.offset + cell.length == data_.size());
  data_.append(suffix);
  cell.length += static_cast<uint32_t>(suffix.size());
}

void EventBatch::EndRow() {
  assert(row_open_);
  row_open_ = false;
  rows_.push_back(RowSpan{open_row_first_cell_,
                          static_cast<uint32_t>(cells_.size()) - open_row_first_cell_});
}

uint32_t EventBatch::AppendValuesOf(const RowView& row) {
  const uint32_t index = BeginRow();
  for (uint32_t c = 0; c < row.size(); ++c) {
    if (row.is_present(c)) {
      AppendValue(row.text(c));
    } else {
      AppendNull();
    }
  }
  EndRow();
  return index;
}

void EventBatch::AbandonRow() {
  assert(row_open_);
  row_open_ = false;
  if (open_row_first_cell_ < cells_.size()) {
    // Values are appended in order, so the row's bytes start at its first present cell.
    for (size_t i = open_row_first_cell_; i < cells_.size(); ++i) {
      if (cells_[i].state == CellState::kPresent) {
        data_.resize(cells_[i].offset);
        break;
      }
    }
    cells_.resize(open_row_first_cell_);
  }
}

RowView EventBatch::row(uint32_t index) const {
  const RowSpan& span = rows_[index];
  return RowView(cells_.data() + span.first_cell, span.cell_count, data_.data());
}

uint32_t EventBatch::AddTxn(TxnInfo info) {
  txns_.push_back(std::move(info));
  return static_cast<uint32_t>(txns_.size() - 1);
}

void EventBatch::MarkLastSnapshotEvent() {
  if (events_.empty()) return;
  TxnInfo info = txns_[events_.back().txn];
  info.last_snapshot_event = true;
  events_.back().txn = AddTxn(std::move(info));
}

size_t EventBatch::ByteSize() const {
  return data_.size() + cells_.size() * sizeof(Cell) + rows_.size() * sizeof(RowSpan) +
         events_.size() * sizeof(ChangeEvent) + txns_.size() * sizeof(TxnInfo) +
         query_text_.size() + SchemaChangeBytes() + messages_.size() * sizeof(LogicalMessage);
}

void EventBatch::AddLogicalMessage(LogicalMessage message, std::string_view prefix,
                                   std::string_view content) {
  assert(!row_open_);
  message.prefix_offset = static_cast<uint32_t>(data_.size());
  message.prefix_length = static_cast<uint32_t>(prefix.size());
  data_.append(prefix);
  message.content_offset = static_cast<uint32_t>(data_.size());
  message.content_length = static_cast<uint32_t>(content.size());
  data_.append(content);
  messages_.push_back(message);
}

size_t EventBatch::SchemaChangeBytes() const {
  size_t bytes = 0;
  for (const SchemaChange& c : schema_changes_) {
    bytes += sizeof(SchemaChange) + c.ddl.size() + c.database.size();
    for (const SchemaChangeTable& t : c.tables) {
      bytes += sizeof(SchemaChangeTable) + t.columns.size() * sizeof(SchemaChangeColumn);
    }
  }
  return bytes;
}

std::string_view SchemaChangeTypeName(SchemaChangeTable::Type type) {
  switch (type) {
    case SchemaChangeTable::Type::kCreate: return "CREATE";
    case SchemaChangeTable::Type::kAlter: return "ALTER";
    case SchemaChangeTable::Type::kDrop: return "DROP";
  }
  return "ALTER";
}

uint32_t EventBatch::AddQuery(std::string_view sql) {
  query_spans_.emplace_back(static_cast<uint32_t>(query_text_.size()), static_cast<uint32_t>(sql.size()));
  query_text_ += sql;
  return static_cast<uint32_t>(query_spans_.size() - 1);
}

std::string BinlogTransactionId(std::string_view gtid, std::string_view file, uint64_t pos) {
  if (!gtid.empty()) return std::string(gtid);
  std::string id = "file=";
  id += file;
  id += ",pos=";
  id += std::to_string(pos);
  return id;
}

bool SameKey(const TableSchema& schema, const RowView& a, const RowView& b) {
  for (uint32_t k : schema.key) {
    if (k >= a.size() || k >= b.size()) return false;
    if (a.state(k) != b.state(k)) return false;
    if (a.is_present(k) && a.text(k) != b.text(k)) return false;
  }
  return true;
}

}  // namespace sluice::core
