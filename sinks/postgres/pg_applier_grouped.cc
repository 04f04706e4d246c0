// PgApplier's fast path for change events: per-table grouping, same-key coalescing and
// multi-row statements. Within one target transaction only the final state is visible, so
// events of different tables may be applied in any order; within a table the source order is
// kept (a run of upserts or of deletes is cut whenever the kind changes, and a row that needs its
// own statement — partial update, key change, keyless change, truncate — cuts it too).
#include <spdlog/spdlog.h>

#include "sinks/postgres/pg_applier.h"

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

bool SameKey(const core::RowView& a, const core::RowView& b, const core::TableSchema& schema) {
  for (uint32_t k : schema.key) {
    if (a.state(k) != b.state(k) || a.text(k) != b.text(k)) return false;
  }
  return true;
}

}  // namespace

uint64_t PgApplier::KeyHash(const core::RowView& row, const core::TableSchema& schema) const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (uint32_t k : schema.key) {
    h = (h ^ static_cast<uint8_t>(row.state(k))) * 1099511628211ULL;
    for (char c : row.text(k)) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  }
  return h;
}

Status PgApplier::ApplyGrouped(const EventBatch& batch, size_t begin, size_t end) {
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
    TableState* t = nullptr;
    for (uint32_t index : groups_[g].second) {
      const core::ChangeEvent& e = events[index];
      if (t == nullptr || t->schema.get() != e.table.get()) {
        // Ensure may run DDL outside the pipeline: send what was collected first.
        SLUICE_RETURN_IF_ERROR(FlushRun(batch));
        SLUICE_ASSIGN_OR_RETURN(t, Ensure(e.table, batch));
      }
      const core::TableSchema& schema = *t->schema;
      bool single = false;
      switch (e.op) {
        case Op::kCreate:
          if (e.after == core::kNoRow || AnyUnchanged(batch.row(e.after))) {
            single = true;
          } else {
            SLUICE_RETURN_IF_ERROR(AddToRun(batch, *t, schema.HasKey() ? RunKind::kUpsert
                                                                       : RunKind::kAppend,
                                            index, e.after));
          }
          break;
        case Op::kUpdate:
          if (!schema.HasKey() || e.after == core::kNoRow || AnyUnchanged(batch.row(e.after)) ||
              (e.before != core::kNoRow &&
               !SameKey(batch.row(e.before), batch.row(e.after), schema))) {
            single = true;
          } else {
            SLUICE_RETURN_IF_ERROR(AddToRun(batch, *t, RunKind::kUpsert, index, e.after));
          }
          break;
        case Op::kDelete: {
          uint32_t row = e.before != core::kNoRow ? e.before : e.after;
          if (!schema.HasKey() || row == core::kNoRow) {
            single = true;
          } else {
            SLUICE_RETURN_IF_ERROR(AddToRun(batch, *t, RunKind::kDelete, index, row));
          }
          break;
        }
        case Op::kTruncate:
        case Op::kRead:
          single = true;
          break;
      }
      if (single) {
        SLUICE_RETURN_IF_ERROR(FlushRun(batch));
        SLUICE_RETURN_IF_ERROR(ApplyOne(batch, *t, index));
      }
    }
    SLUICE_RETURN_IF_ERROR(FlushRun(batch));
  }
  return Status::Ok();
}

Status PgApplier::AddToRun(const EventBatch& batch, TableState& t, RunKind kind,
                           uint32_t event_index, uint32_t row) {
  if (run_.table != &t || run_.kind != kind) {
    SLUICE_RETURN_IF_ERROR(FlushRun(batch));
    run_.table = &t;
    run_.kind = kind;
  }
  if (kind != RunKind::kAppend) {
    core::RowView view = batch.row(row);
    uint64_t h = KeyHash(view, *t.schema);
    auto [it, inserted] = run_.slots.try_emplace(h, static_cast<uint32_t>(run_.rows.size()));
    if (!inserted) {
      RunRow& prev = run_.rows[it->second];
      if (SameKey(batch.row(prev.row), view, *t.schema)) {
        // Same key again: the later full row wins; a second delete adds nothing.
        if (kind == RunKind::kUpsert) prev = {event_index, row};
        return Status::Ok();
      }
      // A hash collision between two keys: send what we have and start over.
      SLUICE_RETURN_IF_ERROR(FlushRun(batch));
      run_.table = &t;
      run_.kind = kind;
      run_.slots.emplace(h, 0);
    }
  }
  run_.rows.push_back({event_index, row});
  if (run_.rows.size() >= kMaxRunRows) return FlushRun(batch);
  return Status::Ok();
}

Status PgApplier::FlushRun(const EventBatch& batch) {
  if (run_.rows.empty() || run_.table == nullptr) {
    run_.rows.clear();
    run_.slots.clear();
    run_.table = nullptr;
    run_.kind = RunKind::kNone;
    return Status::Ok();
  }
  TableState& t = *run_.table;
  const core::TableSchema& schema = *t.schema;
  RunKind kind = run_.kind;
  columns2_.clear();
  if (kind == RunKind::kDelete) {
    columns2_.assign(schema.key.begin(), schema.key.end());
  } else {
    columns2_ = t.all_columns;
  }
  size_t width = columns2_.empty() ? 1 : columns2_.size();
  size_t max_rows = std::max<size_t>(1, std::min(kMaxRowsPerStatement, kMaxParams / width));
  size_t n = run_.rows.size();
  Status status;
  for (size_t i = 0; i < n && status.ok();) {
    size_t remaining = n - i;
    size_t chunk = 1;
    for (size_t size : {max_rows, size_t{64}, size_t{16}, size_t{4}}) {
      if (size <= max_rows && remaining >= size) {
        chunk = size;
        break;
      }
    }
    ClearParams();
    for (size_t r = i; r < i + chunk && status.ok(); ++r) {
      for (uint32_t c : columns2_) {
        status = AddParam(batch, t, run_.rows[r].row, c, run_.rows[r].event);
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) break;
    key_.assign(kind == RunKind::kDelete ? "MD" : kind == RunKind::kUpsert ? "MU" : "MA");
    key_ += std::to_string(chunk);
    status = SendCached(
        t, key_,
        [&] {
          return kind == RunKind::kDelete ? DeleteByKeySql(t.target, schema, chunk)
                                          : UpsertSql(t.target, schema, t.all_columns, chunk);
        },
        run_.rows[i].event, chunk > 1);
    i += chunk;
  }
  run_.rows.clear();
  run_.slots.clear();
  run_.table = nullptr;
  run_.kind = RunKind::kNone;
  return status;
}

}  // namespace sluice::sinks::pgsink
