// ChangeRun: runs of rows for multi-row statements, and RouteChange (change_run.h).
#include "sinks/postgres/change_run.h"

#include <algorithm>

#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/postgres_types.h"

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Op;

namespace {

constexpr size_t kMaxRowsPerStatement = 256;
constexpr size_t kMaxParams = 65535;

}  // namespace

core::Status AppendRowParams(const EventBatch& batch, uint32_t event, const TableState& t,
                             uint32_t row_index, const std::vector<uint32_t>& columns,
                             std::string& text, std::vector<uint32_t>& offsets) {
  const size_t text_mark = text.size();
  const size_t first = offsets.size();
  core::RowView row = batch.row(row_index);
  for (uint32_t column : columns) {
    if (!row.is_present(column)) {
      offsets.push_back(kParamNull);
      continue;
    }
    offsets.push_back(static_cast<uint32_t>(text.size()));
    if (!AppendPgText(t.kinds[column], row.text(column), text, t.delimiters[column])) {
      offsets.resize(first);
      text.resize(text_mark);
      return core::FailedPreconditionError("postgres sink: " + DescribeEvent(batch, event) +
                                           ": column " + t.schema->columns[column].name +
                                           ": value is not a JSON array");
    }
    text.push_back('\0');
  }
  return core::Status::Ok();
}

bool AnyUnchanged(const core::RowView& row) {
  for (uint32_t c = 0; c < row.size(); ++c) {
    if (row.is_unchanged(c)) return true;
  }
  return false;
}

ChangeRoute RouteChange(const EventBatch& batch, const core::ChangeEvent& e) {
  const core::TableSchema& schema = *e.table;
  switch (e.op) {
    case Op::kCreate:
      if (e.after == core::kNoRow || AnyUnchanged(batch.row(e.after))) return {};
      return {schema.HasKey() ? RunKind::kUpsert : RunKind::kAppend, e.after};
    case Op::kUpdate:
      if (!schema.HasKey() || e.after == core::kNoRow || AnyUnchanged(batch.row(e.after)) ||
          (e.before != core::kNoRow &&
           !core::SameKey(schema, batch.row(e.before), batch.row(e.after)))) {
        return {};
      }
      return {RunKind::kUpsert, e.after};
    case Op::kDelete: {
      uint32_t row = e.before != core::kNoRow ? e.before : e.after;
      if (!schema.HasKey() || row == core::kNoRow) return {};
      return {RunKind::kDelete, row};
    }
    case Op::kTruncate:
    case Op::kRead:
      return {};
  }
  return {};
}

size_t MaxRowsPerStatement(size_t width) {
  if (width == 0) width = 1;
  return std::max<size_t>(1, std::min(kMaxRowsPerStatement, kMaxParams / width));
}

size_t StatementRows(size_t remaining, size_t max_rows) {
  for (size_t size : {max_rows, size_t{64}, size_t{16}, size_t{4}}) {
    if (size <= max_rows && remaining >= size) return size;
  }
  return 1;
}

void ChangeRun::Start(const TableState* table, RunKind kind) {
  table_ = table;
  kind_ = kind;
  rows_.clear();
  slots_.clear();
  text_.clear();
  offsets_.clear();
  columns_.clear();
  key_positions_.clear();
  full_rows_ = 1;
  if (table == nullptr) return;
  const core::TableSchema& schema = *table->schema;
  if (kind == RunKind::kDelete) {
    columns_.assign(schema.key.begin(), schema.key.end());
  } else {
    columns_ = table->all_columns;
  }
  if (kind != RunKind::kAppend) {
    for (uint32_t k : schema.key) {
      auto it = std::find(columns_.begin(), columns_.end(), k);
      key_positions_.push_back(static_cast<uint32_t>(it - columns_.begin()));
    }
  }
  full_rows_ = MaxRowsPerStatement(columns_.size());
}

uint64_t ChangeRun::KeyHash(size_t first) const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the key's encoded values
  for (uint32_t p : key_positions_) {
    const uint32_t off = offsets_[first + p];
    if (off == kParamNull) {
      h = (h ^ 0x100) * 1099511628211ULL;
      continue;
    }
    for (const char* c = text_.data() + off; *c != '\0'; ++c) {
      h = (h ^ static_cast<uint8_t>(*c)) * 1099511628211ULL;
    }
    h = (h ^ 0xff) * 1099511628211ULL;
  }
  return h;
}

bool ChangeRun::SameKey(size_t a, size_t b) const {
  for (uint32_t p : key_positions_) {
    const uint32_t x = offsets_[a + p], y = offsets_[b + p];
    if (x == kParamNull || y == kParamNull) {
      if (x != y) return false;
      continue;
    }
    if (std::string_view(text_.data() + x) != std::string_view(text_.data() + y)) return false;
  }
  return true;
}

core::Result<ChangeRun::Added> ChangeRun::Add(const EventBatch& batch, uint32_t event,
                                              uint32_t row_index, uint64_t batch_seq) {
  const size_t width = columns_.size();
  const size_t text_mark = text_.size();
  const size_t first = offsets_.size();  // the new row's values, appended after the others
  SLUICE_RETURN_IF_ERROR(
      AppendRowParams(batch, event, *table_, row_index, columns_, text_, offsets_));
  if (kind_ != RunKind::kAppend) {
    auto [it, inserted] = slots_.try_emplace(KeyHash(first), static_cast<uint32_t>(rows_.size()));
    if (!inserted) {
      const size_t prev = static_cast<size_t>(it->second) * width;
      if (!SameKey(prev, first)) {
        offsets_.resize(first);
        text_.resize(text_mark);
        return Added::kCollision;
      }
      // Same key again: the later full row wins (in the earlier one's place, so the order of
      // the keys is kept); a second delete of the key adds nothing. The earlier text stays in
      // the buffer until the run is sent.
      if (kind_ == RunKind::kUpsert) {
        std::copy(offsets_.begin() + first, offsets_.end(), offsets_.begin() + prev);
        rows_[it->second] = {event, batch_seq};
      } else {
        text_.resize(text_mark);
      }
      offsets_.resize(first);
      return Added::kCoalesced;
    }
  }
  rows_.push_back({event, batch_seq});
  return Added::kAdded;
}

void ChangeRun::Params(size_t begin, size_t end, std::vector<const char*>& values) const {
  const size_t width = columns_.size();
  for (size_t i = begin * width; i < end * width; ++i) {
    values.push_back(offsets_[i] == kParamNull ? nullptr : text_.data() + offsets_[i]);
  }
}

}  // namespace sluice::sinks::pgsink
