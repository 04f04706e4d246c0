// ChangeWriter: grouped and precise apply of change events (change_writer.h).
#include "sinks/postgres/change_writer.h"

#include <algorithm>

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Op;
using core::Status;

namespace {

constexpr size_t kMaxRunRows = 4096;
constexpr size_t kMaxRowsPerStatement = 256;
constexpr size_t kMaxParams = 65535;

bool AnyUnchanged(const core::RowView& row) {
  for (uint32_t c = 0; c < row.size(); ++c) {
    if (row.is_unchanged(c)) return true;
  }
  return false;
}

bool IsKeyColumn(const core::TableSchema& schema, uint32_t column) {
  return std::find(schema.key.begin(), schema.key.end(), column) != schema.key.end();
}

uint64_t KeyHash(const core::RowView& row, const core::TableSchema& schema) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (uint32_t k : schema.key) {
    h = (h ^ static_cast<uint8_t>(row.state(k))) * 1099511628211ULL;
    for (char c : row.text(k)) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  }
  return h;
}

// The columns of `row` that carry a value or NULL (not an unchanged TOAST cell).
void PresentColumns(const core::RowView& row, std::vector<uint32_t>& out) {
  out.clear();
  for (uint32_t c = 0; c < row.size(); ++c) {
    if (!row.is_unchanged(c)) out.push_back(c);
  }
}

// Appends "3,5,7," to a statement-shape key.
void AppendColumnsKey(const std::vector<uint32_t>& columns, std::string& key) {
  for (uint32_t c : columns) {
    key += std::to_string(c);
    key += ',';
  }
}

}  // namespace

ChangeRoute RouteChange(const EventBatch& batch, const core::ChangeEvent& e) {
  const core::TableSchema& schema = *e.table;
  switch (e.op) {
    case Op::kCreate:
      if (e.after == core::kNoRow || AnyUnchanged(batch.row(e.after))) return {};
      return {schema.HasKey() ? RunKind::kUpsert : RunKind::kAppend, e.after};
    case Op::kUpdate:
      if (!schema.HasKey() || e.after == core::kNoRow || AnyUnchanged(batch.row(e.after)) ||
          (e.before != core::kNoRow && !core::SameKey(schema, batch.row(e.before), batch.row(e.after)))) {
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

void ChangeRun::Start(const TableState* table, RunKind kind) {
  table_ = table;
  kind_ = kind;
  rows_.clear();
  slots_.clear();
}

ChangeRun::Added ChangeRun::Add(const EventBatch& batch, uint32_t event, uint32_t row) {
  if (kind_ != RunKind::kAppend) {
    const core::TableSchema& schema = *table_->schema;
    core::RowView view = batch.row(row);
    uint64_t h = KeyHash(view, schema);
    auto [it, inserted] = slots_.try_emplace(h, static_cast<uint32_t>(rows_.size()));
    if (!inserted) {
      Row& prev = rows_[it->second];
      if (!core::SameKey(schema, batch.row(prev.row), view)) return Added::kCollision;
      // Same key again: the later full row wins; a second delete adds nothing.
      if (kind_ == RunKind::kUpsert) prev = {event, row};
      return Added::kCoalesced;
    }
  }
  rows_.push_back({event, row});
  return Added::kAdded;
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

Status ChangeWriter::WriteGrouped(const EventBatch& batch, size_t begin, size_t end,
                                  TableResolver& tables) {
  const auto& events = batch.events();
  for (auto& g : groups_) g.second.clear();
  size_t used = 0;
  size_t last = 0;
  for (size_t i = begin; i < end; ++i) {
    const core::TableSchema* schema = events[i].table.get();
    size_t g = last;
    if (g >= used || (groups_[g].first != schema && groups_[g].first->id != schema->id)) {
      for (g = 0; g < used; ++g) {
        if (groups_[g].first == schema || groups_[g].first->id == schema->id) break;
      }
      if (g == used) {
        if (used == groups_.size()) groups_.emplace_back();
        groups_[used].first = schema;
        ++used;
      }
    }
    groups_[g].second.push_back(static_cast<uint32_t>(i));
    last = g;
  }

  for (size_t g = 0; g < used; ++g) {
    const TableState* t = nullptr;
    for (uint32_t index : groups_[g].second) {
      const core::ChangeEvent& e = events[index];
      if (t == nullptr || t->schema.get() != e.table.get()) {
        // Resolving may run DDL outside the pipeline: send what was collected first.
        SLUICE_RETURN_IF_ERROR(FlushRun(batch));
        SLUICE_ASSIGN_OR_RETURN(t, tables.Resolve(e.table, batch));
      }
      ChangeRoute route = RouteChange(batch, e);
      if (route.kind != RunKind::kNone) {
        SLUICE_RETURN_IF_ERROR(AddToRun(batch, *t, route.kind, index, route.row));
        continue;
      }
      SLUICE_RETURN_IF_ERROR(FlushRun(batch));
      SLUICE_RETURN_IF_ERROR(WriteOne(batch, *t, index));
    }
    SLUICE_RETURN_IF_ERROR(FlushRun(batch));
  }
  return Status::Ok();
}

Status ChangeWriter::WriteEach(const EventBatch& batch, size_t begin, size_t end,
                               TableResolver& tables) {
  for (size_t k = begin; k < end; ++k) {
    SLUICE_ASSIGN_OR_RETURN(const TableState* t, tables.Resolve(batch.events()[k].table, batch));
    SLUICE_RETURN_IF_ERROR(WriteOne(batch, *t, static_cast<uint32_t>(k)));
  }
  return Status::Ok();
}

Status ChangeWriter::UpsertRows(const EventBatch& batch, const TableState& t, size_t begin,
                                size_t end) {
  for (size_t k = begin; k < end; ++k) {
    SLUICE_RETURN_IF_ERROR(
        SendUpsert(batch, t, static_cast<uint32_t>(k), batch.events()[k].after));
  }
  return Status::Ok();
}

void ChangeWriter::SessionLost() {
  statements_.clear();  // prepared in the lost session
  run_.Clear();
}

Status ChangeWriter::AddToRun(const EventBatch& batch, const TableState& t, RunKind kind,
                              uint32_t event, uint32_t row) {
  if (!run_.Holds(&t, kind)) {
    SLUICE_RETURN_IF_ERROR(FlushRun(batch));
    run_.Start(&t, kind);
  }
  ChangeRun::Added added = run_.Add(batch, event, row);
  if (added == ChangeRun::Added::kCoalesced) return Status::Ok();
  if (added == ChangeRun::Added::kCollision) {
    // A hash collision between two keys: send what we have and start over.
    SLUICE_RETURN_IF_ERROR(FlushRun(batch));
    run_.Start(&t, kind);
    run_.Add(batch, event, row);
  }
  if (run_.size() >= kMaxRunRows) return FlushRun(batch);
  return Status::Ok();
}

Status ChangeWriter::FlushRun(const EventBatch& batch) {
  if (run_.empty() || run_.table() == nullptr) {
    run_.Clear();
    return Status::Ok();
  }
  const TableState& t = *run_.table();
  const core::TableSchema& schema = *t.schema;
  const RunKind kind = run_.kind();
  const auto& rows = run_.rows();
  if (kind == RunKind::kDelete) {
    columns2_.assign(schema.key.begin(), schema.key.end());
  } else {
    columns2_ = t.all_columns;
  }
  const size_t max_rows = MaxRowsPerStatement(columns2_.size());
  Status status;
  for (size_t i = 0; i < rows.size() && status.ok();) {
    const size_t chunk = StatementRows(rows.size() - i, max_rows);
    ClearParams();
    for (size_t r = i; r < i + chunk && status.ok(); ++r) {
      status = AddParams(batch, t, rows[r].row, columns2_, rows[r].event);
    }
    if (!status.ok()) break;
    key_.assign(kind == RunKind::kDelete ? "MD" : kind == RunKind::kUpsert ? "MU" : "MA");
    key_ += std::to_string(chunk);
    status = Send(
        t,
        [&] {
          return kind == RunKind::kDelete ? DeleteByKeySql(t.target, schema, chunk)
                                          : UpsertSql(t.target, schema, t.all_columns, chunk);
        },
        rows[i].event, chunk > 1);
    i += chunk;
  }
  run_.Clear();
  return status;
}

Status ChangeWriter::WriteOne(const EventBatch& batch, const TableState& t, uint32_t index) {
  const core::ChangeEvent& e = batch.events()[index];
  switch (e.op) {
    case Op::kCreate:
      if (e.after == core::kNoRow) {
        return core::InvalidArgumentError("postgres sink: insert without a row: " +
                                          DescribeEvent(batch, index));
      }
      return SendUpsert(batch, t, index, e.after);
    case Op::kUpdate:
      return SendUpdate(batch, t, index);
    case Op::kDelete:
      return SendDelete(batch, t, index);
    case Op::kTruncate:
      ClearParams();
      key_.assign("T");
      return Send(t, [&] { return "TRUNCATE " + t.qualified; }, index);
    case Op::kRead:
      return SendUpsert(batch, t, index, e.after);
  }
  return Status::Ok();
}

void ChangeWriter::ClearParams() {
  param_buf_.clear();
  param_offsets_.clear();
}

Status ChangeWriter::AddParams(const EventBatch& batch, const TableState& t, uint32_t row_index,
                               const std::vector<uint32_t>& columns, uint32_t event) {
  core::RowView row = batch.row(row_index);
  for (uint32_t column : columns) {
    if (!row.is_present(column)) {
      param_offsets_.push_back(kNullParam);
      continue;
    }
    param_offsets_.push_back(static_cast<uint32_t>(param_buf_.size()));
    if (!AppendPgText(t.kinds[column], row.text(column), param_buf_, t.delimiters[column])) {
      return core::FailedPreconditionError("postgres sink: " + DescribeEvent(batch, event) +
                                           ": column " + t.schema->columns[column].name +
                                           ": value is not a JSON array");
    }
    param_buf_.push_back('\0');
  }
  return Status::Ok();
}

template <typename MakeSql>
Status ChangeWriter::Send(const TableState& t, MakeSql make_sql, uint32_t event, bool many) {
  std::map<std::string, std::string>& statements = statements_[t.id];
  auto it = statements.find(key_);
  if (it == statements.end()) {
    SLUICE_ASSIGN_OR_RETURN(std::string name, session_.Prepare(make_sql(), event, &t.qualified));
    it = statements.emplace(key_, std::move(name)).first;
  }
  param_values_.clear();
  for (uint32_t off : param_offsets_) {
    param_values_.push_back(off == kNullParam ? nullptr : param_buf_.data() + off);
  }
  return session_.SendPrepared(it->second, param_values_, event, &t.qualified, many);
}

Status ChangeWriter::SendUpsert(const EventBatch& batch, const TableState& t, uint32_t event,
                                uint32_t row_index) {
  core::RowView row = batch.row(row_index);
  PresentColumns(row, columns_);
  const bool all = columns_.size() == row.size();
  ClearParams();
  SLUICE_RETURN_IF_ERROR(AddParams(batch, t, row_index, columns_, event));
  key_.assign(all ? "U" : "U:");
  if (!all) AppendColumnsKey(columns_, key_);
  return Send(t, [&] { return UpsertSql(t.target, *t.schema, columns_); }, event);
}

Status ChangeWriter::SendKeyless(const EventBatch& batch, const TableState& t, uint32_t event,
                                 bool update) {
  const core::ChangeEvent& e = batch.events()[event];
  if (e.before == core::kNoRow) {
    return core::FailedPreconditionError(
        "postgres sink: " + DescribeEvent(batch, event) + ": the table has no primary key and " +
        (update ? "the update" : "the delete") +
        " carries no old row; set REPLICA IDENTITY FULL on the source table");
  }
  // Match every column of the before image that it carries; an update sets the after image's.
  PresentColumns(batch.row(e.before), columns_);
  columns2_.clear();
  if (update) PresentColumns(batch.row(e.after), columns2_);
  ClearParams();
  SLUICE_RETURN_IF_ERROR(AddParams(batch, t, e.before, columns_, event));
  if (update) SLUICE_RETURN_IF_ERROR(AddParams(batch, t, e.after, columns2_, event));
  key_.assign(update ? "N:" : "M:");
  AppendColumnsKey(columns_, key_);
  if (update) {
    key_ += ':';
    AppendColumnsKey(columns2_, key_);
  }
  return Send(
      t,
      [&] {
        return update ? UpdateOneRowSql(t.target, *t.schema, columns_, columns2_, t.types)
                      : DeleteOneRowSql(t.target, *t.schema, columns_, t.types);
      },
      event);
}

Status ChangeWriter::SendUpdate(const EventBatch& batch, const TableState& t, uint32_t event) {
  const core::ChangeEvent& e = batch.events()[event];
  const core::TableSchema& schema = *t.schema;
  if (e.after == core::kNoRow) {
    return core::InvalidArgumentError("postgres sink: update without a new row: " +
                                      DescribeEvent(batch, event));
  }
  if (!schema.HasKey()) return SendKeyless(batch, t, event, true);
  core::RowView after = batch.row(e.after);
  // Did the key change? Then update the old row in place (its key included).
  uint32_t key_row = e.after;
  if (e.before != core::kNoRow && !core::SameKey(schema, batch.row(e.before), after)) {
    key_row = e.before;
  }
  if (key_row == e.after && !AnyUnchanged(after)) return SendUpsert(batch, t, event, e.after);

  columns_.clear();
  for (uint32_t c = 0; c < after.size(); ++c) {
    if (after.is_unchanged(c)) continue;
    if (key_row == e.after && IsKeyColumn(schema, c)) continue;
    columns_.push_back(c);
  }
  if (columns_.empty()) return Status::Ok();  // only unchanged values besides the key
  ClearParams();
  SLUICE_RETURN_IF_ERROR(AddParams(batch, t, e.after, columns_, event));
  SLUICE_RETURN_IF_ERROR(AddParams(batch, t, key_row, schema.key, event));
  key_.assign("K:");
  AppendColumnsKey(columns_, key_);
  return Send(t, [&] { return UpdateByKeySql(t.target, schema, columns_); }, event);
}

Status ChangeWriter::SendDelete(const EventBatch& batch, const TableState& t, uint32_t event) {
  const core::ChangeEvent& e = batch.events()[event];
  uint32_t row_index = e.before != core::kNoRow ? e.before : e.after;
  if (row_index == core::kNoRow) {
    return core::InvalidArgumentError("postgres sink: delete without a row: " +
                                      DescribeEvent(batch, event));
  }
  if (!t.schema->HasKey()) return SendKeyless(batch, t, event, false);
  ClearParams();
  SLUICE_RETURN_IF_ERROR(AddParams(batch, t, row_index, t.schema->key, event));
  key_.assign("D");
  return Send(t, [&] { return DeleteByKeySql(t.target, *t.schema); }, event);
}

}  // namespace sluice::sinks::pgsink
