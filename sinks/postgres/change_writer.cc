// ChangeWriter: grouped and precise apply of change events (change_writer.h).
#include "sinks/postgres/change_writer.h"

#include <algorithm>

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Op;
using core::Status;

namespace {

bool IsKeyColumn(const core::TableSchema& schema, uint32_t column) {
  return std::find(schema.key.begin(), schema.key.end(), column) != schema.key.end();
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

Status ChangeWriter::WriteGrouped(const EventBatch& batch, size_t begin, size_t end,
                                  TableResolver& tables) {
  const auto& events = batch.events();
  const core::TableSchema* last_schema = nullptr;
  const TableState* t = nullptr;
  for (size_t i = begin; i < end; ++i) {
    const core::ChangeEvent& e = events[i];
    if (e.table.get() != last_schema) {
      // Resolving may run DDL outside the pipeline (the open runs are sent first, through
      // PgApplier::Activate).
      SLUICE_ASSIGN_OR_RETURN(t, tables.Resolve(e.table, batch));
      last_schema = e.table.get();
    }
    const auto index = static_cast<uint32_t>(i);
    ChangeRoute route = RouteChange(batch, e);
    if (route.kind != RunKind::kNone) {
      SLUICE_RETURN_IF_ERROR(AddToRun(batch, *t, route.kind, index, route.row));
      continue;
    }
    SLUICE_RETURN_IF_ERROR(SendRunOf(*t));
    SLUICE_RETURN_IF_ERROR(WriteOne(batch, *t, index));
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
  runs_.clear();        // their rows are replayed by the pipeline
}

bool ChangeWriter::has_open_runs() const {
  for (const auto& run : runs_) {
    if (!run->empty()) return true;
  }
  return false;
}

Status ChangeWriter::SendRuns() {
  for (auto& run : runs_) {
    if (!run->empty()) SLUICE_RETURN_IF_ERROR(SendRun(*run));
  }
  return Status::Ok();
}

ChangeRun& ChangeWriter::RunOf(const TableState& t) {
  ChangeRun* unused = nullptr;
  for (auto& run : runs_) {
    if (!run->empty() && run->table() == &t) return *run;
    if (unused == nullptr && run->empty()) unused = run.get();
  }
  if (unused == nullptr) unused = runs_.emplace_back(std::make_unique<ChangeRun>()).get();
  return *unused;
}

Status ChangeWriter::SendRunOf(const TableState& t) {
  for (auto& run : runs_) {
    if (!run->empty() && run->table() == &t) return SendRun(*run);
  }
  return Status::Ok();
}

Status ChangeWriter::AddToRun(const EventBatch& batch, const TableState& t, RunKind kind,
                              uint32_t event, uint32_t row) {
  ChangeRun& run = RunOf(t);
  if (!run.Holds(&t, kind)) {
    // The other kind for this table (an upsert after deletes, …): source order within the
    // table is kept by sending what came before.
    if (!run.empty()) SLUICE_RETURN_IF_ERROR(SendRun(run));
    run.Start(&t, kind);
  }
  SLUICE_ASSIGN_OR_RETURN(ChangeRun::Added added,
                          run.Add(batch, event, row, session_.batch_seq()));
  if (added == ChangeRun::Added::kCollision) {
    // A hash collision between two keys: send what we have and start over.
    SLUICE_RETURN_IF_ERROR(SendRun(run));
    run.Start(&t, kind);
    SLUICE_ASSIGN_OR_RETURN(added, run.Add(batch, event, row, session_.batch_seq()));
  }
  if (run.size() >= run.full_rows()) return SendRun(run);
  return Status::Ok();
}

Status ChangeWriter::SendRun(ChangeRun& run) {
  const TableState& t = *run.table();
  const core::TableSchema& schema = *t.schema;
  const RunKind kind = run.kind();
  const auto& rows = run.rows();
  const size_t max_rows = run.full_rows();
  const uint64_t current = session_.batch_seq();
  Status status;
  for (size_t i = 0; i < rows.size() && status.ok();) {
    const size_t chunk = StatementRows(rows.size() - i, max_rows);
    param_values_.clear();
    run.Params(i, i + chunk, param_values_);
    key_.assign(kind == RunKind::kDelete ? "MD" : kind == RunKind::kUpsert ? "MU" : "MA");
    key_ += std::to_string(chunk);
    // A one-row statement names its event when it fails, if that event's batch is the one
    // being applied; a row from an earlier batch is named by the precise replay instead.
    const bool many = chunk > 1 || rows[i].batch_seq != current;
    status = SendParams(
        t,
        [&] {
          return kind == RunKind::kDelete ? DeleteByKeySql(t.target, schema, chunk)
                                          : UpsertSql(t.target, schema, t.all_columns, chunk);
        },
        rows[i].event, many);
    i += chunk;
  }
  // Unbound: a run names its table only while it holds rows (the catalog may replace an idle
  // table's state).
  run.Clear();
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
  return AppendRowParams(batch, event, t, row_index, columns, param_buf_, param_offsets_);
}

template <typename MakeSql>
Status ChangeWriter::Send(const TableState& t, MakeSql make_sql, uint32_t event, bool many) {
  param_values_.clear();
  for (uint32_t off : param_offsets_) {
    param_values_.push_back(off == kParamNull ? nullptr : param_buf_.data() + off);
  }
  return SendParams(t, make_sql, event, many);
}

template <typename MakeSql>
Status ChangeWriter::SendParams(const TableState& t, MakeSql make_sql, uint32_t event,
                                bool many) {
  std::map<std::string, std::string>& statements = statements_[t.id];
  auto it = statements.find(key_);
  if (it == statements.end()) {
    SLUICE_ASSIGN_OR_RETURN(std::string name, session_.Prepare(make_sql(), event, &t.qualified));
    it = statements.emplace(key_, std::move(name)).first;
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
