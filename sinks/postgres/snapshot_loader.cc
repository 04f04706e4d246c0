// SnapshotLoader: COPY of snapshot rows, kept replay-safe (snapshot_loader.h).
#include "sinks/postgres/snapshot_loader.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

#include "core/parse_number.h"

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Status;

namespace {

constexpr size_t kCopyChunkBytes = 64 << 10;

// The row number in COPY's error context ("COPY t, line 3, column x: …"), 0 when absent.
size_t CopyErrorLine(const PGresult* result) {
  if (result == nullptr) return 0;
  const char* context = PQresultErrorField(result, PG_DIAG_CONTEXT);
  if (context == nullptr) return 0;
  const char* line = std::strstr(context, ", line ");
  if (line == nullptr) return 0;
  std::string_view digits(line + 7);
  digits = digits.substr(0, digits.find_first_not_of("0123456789"));
  auto n = core::ParseNumber<size_t>(digits, "postgres COPY error context line number");
  return n.ok() ? *n : 0;
}

}  // namespace

SnapshotRoute RouteSnapshotRows(bool precise, bool has_key, bool staged) {
  staged = staged && has_key;
  if (!precise && !staged) return SnapshotRoute::kStream;
  if (!has_key) return SnapshotRoute::kCopy;
  return staged ? SnapshotRoute::kStaged : SnapshotRoute::kCopyInSavepoint;
}

CopyFailure ClassifyCopyFailure(bool unavailable, bool retriable, bool unique_violation,
                                bool has_key) {
  if (unavailable) return CopyFailure::kAsIs;
  if (unique_violation && has_key) return CopyFailure::kStage;
  return retriable ? CopyFailure::kAsIs : CopyFailure::kPrecise;
}

void StagedTables::ChunkUpserted(const core::TableId& id, uint64_t inserted, uint64_t rows) {
  if (inserted == rows) {
    unstage_.insert(id);
  } else {
    unstage_.erase(id);
  }
}

void StagedTables::Committed() {
  for (const core::TableId& id : unstage_) staged_.erase(id);
  unstage_.clear();
}

SnapshotLoader::SnapshotLoader(std::shared_ptr<spdlog::logger> logger, PgSession& session)
    : logger_(std::move(logger)), session_(session), conn_(session.conn()) {}

SnapshotLoader::CopyTarget& SnapshotLoader::TargetOf(const TableState& t) {
  auto [it, inserted] = targets_.try_emplace(t.id);
  if (inserted) it->second.stage = "sluice_stage_" + std::to_string(t.id);
  return it->second;
}

void SnapshotLoader::Committed() {
  for (auto& [id, target] : targets_) target.stage_created = false;
  staged_.Committed();
}

void SnapshotLoader::SessionLost() {
  targets_.clear();
  staged_.SessionLost();  // the replay decides again
  copy_table_ = nullptr;
}

Status SnapshotLoader::Load(const EventBatch& batch, const TableState& t, size_t begin,
                            size_t end, bool precise) {
  SnapshotRoute route =
      RouteSnapshotRows(precise, t.schema->HasKey(), staged_.staged(t.schema->id));
  if (route == SnapshotRoute::kStream) return StreamRows(batch, t, begin, end);
  SLUICE_RETURN_IF_ERROR(EndStream());
  if (route == SnapshotRoute::kCopy) return CopyRows(batch, t, t.qualified, begin, end);
  if (route == SnapshotRoute::kCopyInSavepoint) {
    auto sp = conn_.Exec("SAVEPOINT sluice_copy");
    if (!sp.ok()) return sp.status();
    Status s = CopyRows(batch, t, t.qualified, begin, end);
    if (s.ok()) {
      auto r = conn_.Exec("RELEASE SAVEPOINT sluice_copy");
      return r.ok() ? Status::Ok() : r.status();
    }
    if (conn_.last_sqlstate() != "23505") return s;
    auto r = conn_.Exec("ROLLBACK TO SAVEPOINT sluice_copy; RELEASE SAVEPOINT sluice_copy");
    if (!r.ok()) return r.status();
    staged_.Stage(t.schema->id);
  }
  return StagedRows(batch, t, begin, end);
}

Status SnapshotLoader::CheckBinaryCopy(const TableState& t, CopyTarget& target) {
  std::vector<BinaryKind> kinds;
  for (uint32_t c : t.all_columns) {
    if (t.kinds[c] != ValueKind::kPlain) {  // bytea, arrays: text
      target.binary_checked = true;
      return Status::Ok();
    }
  }
  // The columns' types as the target has them (which may differ from the source's types in a
  // table that existed before): a binary COPY converts nothing.
  std::string sql = "SELECT ";
  for (size_t i = 0; i < t.all_columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += sluice::pg::QuoteIdent(t.schema->columns[t.all_columns[i]].name);
  }
  auto r = conn_.Exec(sql + " FROM " + t.qualified + " LIMIT 0");
  if (!r.ok()) return r.status().WithContext("postgres sink: table " + t.qualified);
  target.binary_checked = true;
  for (int i = 0; i < PQnfields(r->get()); ++i) {
    BinaryKind kind = BinaryKindOfOid(PQftype(r->get(), i));
    if (kind == BinaryKind::kNone) return Status::Ok();
    kinds.push_back(kind);
  }
  target.binary = std::move(kinds);
  return Status::Ok();
}

Status SnapshotLoader::StreamRows(const EventBatch& batch, const TableState& t, size_t begin,
                                  size_t end) {
  CopyTarget& target = TargetOf(t);
  if (copy_table_ != &t) {
    SLUICE_RETURN_IF_ERROR(EndStream());
    if (!target.binary_checked) {
      SLUICE_RETURN_IF_ERROR(CheckBinaryCopy(t, target));
      if (logger_) {
        logger_->info("postgres sink: {}: snapshot rows load with {} COPY", t.qualified,
                      target.binary.empty() ? "text (a column type has no binary encoder)"
                                            : "binary");
      }
    }
    copy_binary_ = !target.binary.empty();
    std::string sql = CopySql(t.qualified, *t.schema, t.all_columns);
    if (copy_binary_) sql += " (FORMAT binary)";
    SLUICE_RETURN_IF_ERROR(conn_.BeginCopy(sql));
    copy_table_ = &t;
    if (copy_binary_) {
      copy_buf_.clear();
      AppendCopyBinaryHeader(copy_buf_);
      SLUICE_RETURN_IF_ERROR(conn_.PutCopy(copy_buf_));
    }
  }
  copy_buf_.clear();
  Status s = copy_binary_ ? FormatRowsBinary(batch, t, target.binary, begin, end)
                          : FormatRows(batch, t, begin, end);
  if (s.ok()) s = conn_.PutCopy(copy_buf_);
  copy_buf_.clear();
  if (!s.ok() && copy_table_ != nullptr) {
    copy_table_ = nullptr;
    PQputCopyEnd(conn_.raw(), "sluice: batch rejected");
    while (PGresult* r = PQgetResult(conn_.raw())) PQclear(r);
  }
  return s;
}

Status SnapshotLoader::EndStream() {
  if (copy_table_ == nullptr) return Status::Ok();
  const TableState* t = copy_table_;
  copy_table_ = nullptr;
  if (copy_binary_) {
    copy_buf_.clear();
    AppendCopyBinaryTrailer(copy_buf_);
    Status put = conn_.PutCopy(copy_buf_);
    copy_buf_.clear();
    if (!put.ok()) return put;
  }
  Status result = conn_.EndCopy([&](const PGresult*) {
    return "postgres sink: table " + t->qualified + ": snapshot copy";
  });
  if (result.ok()) return result;
  // (A keyless table has no replay-safe path: its unique violation is reported like any error.)
  CopyFailure failure = ClassifyCopyFailure(result.code() == core::StatusCode::kUnavailable,
                                            result.IsRetriable(),
                                            conn_.last_sqlstate() == "23505",
                                            t->schema->HasKey());
  if (failure == CopyFailure::kAsIs) return result;
  if (failure == CopyFailure::kStage) {
    staged_.Stage(t->schema->id);
    if (logger_) {
      logger_->info(
          "postgres sink: {} already holds some snapshot rows (a snapshot replayed after a "
          "restart): writing them again through an upsert",
          t->qualified);
    }
    return core::AbortedError("postgres sink: table " + t->qualified +
                              " already holds some snapshot rows: replaying them as upserts");
  }
  session_.RequestPreciseReplay();
  return core::AbortedError(result.message() + "; replaying one batch at a time to name the row");
}

Status SnapshotLoader::StagedRows(const EventBatch& batch, const TableState& t, size_t begin,
                                  size_t end) {
  CopyTarget& target = TargetOf(t);
  if (!target.stage_created) {
    auto r = conn_.Exec(CreateStageSql(target.stage, t.target, *t.schema, t.all_columns));
    if (!r.ok()) return r.status().WithContext("postgres sink: staging for " + t.qualified);
    target.stage_created = true;
  }
  std::string stage = sluice::pg::QuoteIdent(target.stage);
  SLUICE_RETURN_IF_ERROR(CopyRows(batch, t, stage, begin, end));
  auto r = conn_.Exec("WITH up AS (" +
                      UpsertFromStageSql(target.stage, t.target, *t.schema, t.all_columns) +
                      " RETURNING xmax::text = '0' AS inserted) SELECT count(*) FILTER (WHERE "
                      "inserted) FROM up");
  if (!r.ok()) {
    return r.status().WithContext("postgres sink: table " + t.qualified +
                                  ": upserting replayed snapshot rows");
  }
  // Every row new: the replayed range is behind us (back to COPY after the commit).
  auto inserted = core::ParseNumber<uint64_t>(PQgetvalue(r->get(), 0, 0),
                                              "postgres sink: count of new rows in " + stage);
  if (!inserted.ok()) return inserted.status();
  staged_.ChunkUpserted(t.schema->id, *inserted, end - begin);
  auto tr = conn_.Exec("TRUNCATE " + stage);
  return tr.ok() ? Status::Ok() : tr.status();
}

Status SnapshotLoader::FormatRows(const EventBatch& batch, const TableState& t, size_t begin,
                                  size_t end) {
  const auto& events = batch.events();
  for (size_t k = begin; k < end; ++k) {
    core::RowView row = batch.row(events[k].after);
    for (uint32_t c = 0; c < row.size(); ++c) {
      if (c > 0) copy_buf_.push_back('\t');
      if (!row.is_present(c)) {
        copy_buf_.append("\\N");
        continue;
      }
      if (t.kinds[c] == ValueKind::kPlain) {
        AppendCopyEscaped(row.text(c), copy_buf_);
        continue;
      }
      value_buf_.clear();
      if (!AppendPgText(t.kinds[c], row.text(c), value_buf_, t.delimiters[c])) {
        return core::FailedPreconditionError(
            "postgres sink: " + DescribeEvent(batch, static_cast<uint32_t>(k)) + ": column " +
            t.schema->columns[c].name + ": value is not a JSON array");
      }
      AppendCopyEscaped(value_buf_, copy_buf_);
    }
    copy_buf_.push_back('\n');
    if (copy_buf_.size() >= kCopyChunkBytes) {
      SLUICE_RETURN_IF_ERROR(conn_.PutCopy(copy_buf_));
      copy_buf_.clear();
    }
  }
  return Status::Ok();
}

Status SnapshotLoader::FormatRowsBinary(const EventBatch& batch, const TableState& t,
                                        const std::vector<BinaryKind>& binary, size_t begin,
                                        size_t end) {
  const auto& events = batch.events();
  const uint16_t fields = static_cast<uint16_t>(binary.size());
  for (size_t k = begin; k < end; ++k) {
    core::RowView row = batch.row(events[k].after);
    if (row.size() != fields) {
      session_.RequestPreciseReplay();
      return core::AbortedError("postgres sink: " + DescribeEvent(batch, static_cast<uint32_t>(k)) +
                                ": the row has " + std::to_string(row.size()) + " values for " +
                                std::to_string(fields) + " columns; replaying as text");
    }
    AppendCopyBinaryFieldCount(fields, copy_buf_);
    for (uint32_t c = 0; c < fields; ++c) {
      if (!row.is_present(c)) {
        AppendCopyBinaryNull(copy_buf_);
        continue;
      }
      if (!AppendCopyBinaryField(binary[c], row.text(c), copy_buf_)) {
        // Not a value of the target type as read here: the replay loads this table's rows as
        // text, one batch at a time, and the server says what is wrong with which row.
        session_.RequestPreciseReplay();
        return core::AbortedError("postgres sink: " +
                                  DescribeEvent(batch, static_cast<uint32_t>(k)) +
                                  ": column " + t.schema->columns[c].name +
                                  ": value has no binary form for the target type; replaying "
                                  "the snapshot rows as text");
      }
    }
    if (copy_buf_.size() >= kCopyChunkBytes) {
      SLUICE_RETURN_IF_ERROR(conn_.PutCopy(copy_buf_));
      copy_buf_.clear();
    }
  }
  return Status::Ok();
}

Status SnapshotLoader::CopyRows(const EventBatch& batch, const TableState& t,
                                const std::string& into, size_t begin, size_t end) {
  SLUICE_RETURN_IF_ERROR(conn_.BeginCopy(CopySql(into, *t.schema, t.all_columns)));
  copy_buf_.clear();
  Status put = FormatRows(batch, t, begin, end);
  if (put.ok()) put = conn_.PutCopy(copy_buf_);
  copy_buf_.clear();
  if (!put.ok()) {
    PQputCopyEnd(conn_.raw(), "sluice: batch rejected");
    while (PGresult* r = PQgetResult(conn_.raw())) PQclear(r);
    return put;
  }
  // The server's SQLSTATE is kept; name the row when the error says which line failed.
  return conn_.EndCopy([&](const PGresult* failed) {
    size_t line = failed ? CopyErrorLine(failed) : 0;
    if (line > 0 && begin + line - 1 < end) {
      return "postgres sink: " + DescribeEvent(batch, static_cast<uint32_t>(begin + line - 1));
    }
    return "postgres sink: table " + t.qualified;
  });
}

}  // namespace sluice::sinks::pgsink
