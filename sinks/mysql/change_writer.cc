#include "sinks/mysql/change_writer.h"

#include <algorithm>
#include <charconv>

#include "core/logging.h"
#include "core/text_codec.h"

namespace sluice::sinks::mysql_sink {

ChangeWriter::ChangeWriter(StatementRunner& runner, PlanSource& plans)
    : runner_(runner), plans_(plans) {}

core::Status ChangeWriter::Apply(const core::EventBatch& batch) {
  core::Status s;
  escaper_ = runner_.escaper();
  // Announced tables (a snapshot's, even empty ones) are created or brought up to date first.
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    auto plan = plans_.PlanFor(table, /*touch=*/false, [&] { return ExecutePending(batch); });
    if (!plan.ok()) return plan.status();
  }
  const std::vector<core::ChangeEvent>& events = batch.events();
  // Events are applied table by table, in order within each table: per-key order is kept and
  // interleaved transactions still become a few multi-row statements. The whole batch commits
  // at once, so the order between tables is not observable.
  group_tables_.clear();
  event_group_.resize(events.size());
  const core::TableSchema* last = nullptr;
  uint32_t last_group = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const core::TableSchema* t = events[i].table.get();
    if (t != last && t != nullptr) {
      last = t;
      last_group = 0;
      while (last_group < group_tables_.size() && !(group_tables_[last_group]->id == t->id)) {
        ++last_group;
      }
      if (last_group == group_tables_.size()) group_tables_.push_back(t);
    }
    event_group_[i] = last_group;
  }
  if (group_tables_.size() <= 1) {
    for (const core::ChangeEvent& event : events) {
      s = ApplyEvent(batch, event);
      if (!s.ok()) break;
    }
  } else {
    group_start_.assign(group_tables_.size() + 1, 0);
    for (uint32_t g : event_group_) ++group_start_[g + 1];
    for (size_t g = 1; g < group_start_.size(); ++g) group_start_[g] += group_start_[g - 1];
    order_.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      order_[group_start_[event_group_[i]]++] = static_cast<uint32_t>(i);
    }
    for (uint32_t i : order_) {
      s = ApplyEvent(batch, events[i]);
      if (!s.ok()) break;
    }
  }
  // A load stays open across batches until Finish() (before the commit), a statement of
  // another kind, or kMaxLoadBytes: fewer, larger loads. The server gets each batch's rows
  // now, so that it never waits longer for the next piece than the pipeline waits for the
  // next batch (the server's net_read_timeout ends a load whose file stalls).
  if (s.ok() && pending_ == Pending::kLoad) s = HandOverLoadPiece();
  if (s.ok() && pending_ != Pending::kLoad) s = ExecutePending(batch);
  if (!s.ok()) Discard();
  return s;
}

ChangeWriter::~ChangeWriter() { Discard(); }

void ChangeWriter::Discard() {
  if (load_started_) runner_.AbortLoad();  // the load's thread reads load_pieces_
  load_started_ = false;
  load_pieces_.clear();
  load_bytes_ = 0;
  pending_ = Pending::kNone;
  pending_plan_ = nullptr;
  sql_.clear();
  sql_rows_.clear();
}

core::Status ChangeWriter::ValueFailure(const TablePlan& plan, const core::RowView& row,
                                        ValueError error) {
  const core::TableSchema& schema = *plan.schema;
  std::string column = error.column < schema.columns.size() ? schema.columns[error.column].name : "?";
  std::string value = error.column < row.size() && row.is_present(error.column)
                          ? " value '" + core::SafeText(row.text(error.column), 120) + "'"
                          : "";
  return core::FailedPreconditionError(
      "mysql sink: table " + plan.qualified + " key (" + DescribeKey(schema, row) + ") column " +
      QuoteIdentifier(column) + value + ": " + error.reason);
}

core::Status ChangeWriter::ExecuteStatement(const std::string& sql,
                                            const core::EventBatch& batch, const TablePlan& plan,
                                            const std::vector<uint32_t>& rows) {
  core::Status s = runner_.Execute(sql);
  if (s.ok()) return s;
  int code = runner_.last_error_code();
  const auto kind = mysql::ClassifyMysqlErrorKind(static_cast<unsigned int>(code));
  if (kind != mysql::MysqlErrorKind::kData || rows.empty()) {
    return s.WithContext("table " + plan.qualified);
  }
  // Name the row: MySQL says "... at row N" (1-based within the statement) for most data errors.
  const std::string& message = runner_.last_error_message();
  size_t row_in_statement = 0;
  if (size_t at = message.rfind("at row "); at != std::string::npos) {
    std::from_chars(message.data() + at + 7, message.data() + message.size(), row_in_statement);
  }
  std::string where;
  uint32_t row = rows[0];
  std::string reason = message;
  if (row_in_statement >= 1 && row_in_statement <= rows.size()) {
    row = rows[row_in_statement - 1];
  } else if (rows.size() > 1 && sql.starts_with(plan.insert_prefix)) {
    // No row number (e.g. a CHECK constraint): find the row by trying them one at a time. The
    // transaction is failing anyway; rows applied here are rolled back with it.
    bool found = false;
    std::string single;
    for (uint32_t candidate : rows) {
      single = plan.insert_prefix;
      AppendRowValues(single, plan, batch.row(candidate), escaper_);
      single += plan.upsert_suffix;
      if (!runner_.Execute(single).ok()) {
        row = candidate;
        code = runner_.last_error_code();
        reason = runner_.last_error_message();
        found = true;
        break;
      }
    }
    if (!found) {
      where = " (in a statement of " + std::to_string(rows.size()) + " rows starting at this key)";
    }
  }
  return core::FailedPreconditionError(
      "mysql sink: table " + plan.qualified + " key (" + DescribeKey(*plan.schema, batch.row(row)) +
      ")" + where + ": " + reason + " (mysql error " + std::to_string(code) +
      "); the target rejects the value: widen the target column or fix the source row");
}

core::Status ChangeWriter::ExecutePending(const core::EventBatch& batch) {
  if (pending_ == Pending::kNone) return core::Status::Ok();
  const TablePlan& plan = *pending_plan_;
  if (pending_ == Pending::kLoad) return ExecuteLoad(plan);
  if (pending_ == Pending::kUpsert) {
    sql_ += plan.upsert_suffix;
  } else if (plan.schema->key.size() == 1) {
    sql_ += ')';
  }
  pending_ = Pending::kNone;
  pending_plan_ = nullptr;
  core::Status s = ExecuteStatement(sql_, batch, plan, sql_rows_);
  sql_.clear();
  sql_rows_.clear();
  return s;
}

core::Status ChangeWriter::AddUpsert(const core::EventBatch& batch, const TablePlan& plan,
                                     uint32_t row) {
  bool continues = pending_ == Pending::kUpsert && pending_plan_ == &plan &&
                   sql_.size() < max_statement_bytes_;
  if (!continues) {
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    sql_ = plan.insert_prefix;
    pending_ = Pending::kUpsert;
    pending_plan_ = &plan;
  }
  size_t before = sql_.size();
  if (continues) sql_ += ',';
  core::RowView view = batch.row(row);
  ValueError e = AppendRowValues(sql_, plan, view, escaper_);
  if (!e.ok()) return ValueFailure(plan, view, e);
  // Keep every statement under max_allowed_packet: a large row starts a statement of its own.
  const size_t hard_limit = max_packet_bytes_ - plan.upsert_suffix.size() - 1024;
  if (sql_.size() > hard_limit) {
    if (!continues) {
      return core::FailedPreconditionError(
          "mysql sink: table " + plan.qualified + " key (" + DescribeKey(*plan.schema, view) +
          "): the row needs a statement of " + std::to_string(sql_.size()) +
          " bytes, more than the server's max_allowed_packet (" +
          std::to_string(max_packet_bytes_) + "); raise max_allowed_packet on the target");
    }
    sql_.resize(before);
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    return AddUpsert(batch, plan, row);
  }
  sql_rows_.push_back(row);
  return core::Status::Ok();
}

core::Status ChangeWriter::AddLoad(const core::EventBatch& batch, const TablePlan& plan,
                                   uint32_t row) {
  bool continues = pending_ == Pending::kLoad && pending_plan_ == &plan &&
                   load_bytes_ + sql_.size() < kMaxLoadBytes;
  if (!continues) {
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    sql_.clear();
    pending_ = Pending::kLoad;
    pending_plan_ = &plan;
  }
  core::RowView view = batch.row(row);
  ValueError e = AppendLoadRow(sql_, plan, view);
  if (!e.ok()) return ValueFailure(plan, view, e);
  if (sql_.size() >= kLoadPieceBytes) return HandOverLoadPiece();
  return core::Status::Ok();
}

core::Status ChangeWriter::HandOverLoadPiece() {
  if (sql_.empty()) return core::Status::Ok();
  if (!load_started_) {
    SLUICE_RETURN_IF_ERROR(runner_.Execute("SAVEPOINT sluice_load"));
    SLUICE_RETURN_IF_ERROR(runner_.BeginLoad(pending_plan_->load_statement));
    load_started_ = true;
  }
  // Pieces are kept until the load ends: a small one (the end of a batch) gives back the room
  // it did not use; after a full one, the next starts with room for a piece and its last row.
  const bool full = sql_.size() >= kLoadPieceBytes;
  if (!full && sql_.capacity() > 2 * sql_.size() + 4096) sql_.shrink_to_fit();
  load_bytes_ += sql_.size();
  load_pieces_.push_back(std::move(sql_));
  sql_ = std::string();
  if (full) sql_.reserve(kLoadPieceBytes + (kLoadPieceBytes >> 2));
  runner_.AppendLoad(load_pieces_.back());
  return core::Status::Ok();
}

bool ChangeWriter::Loads(const TablePlan& plan) const {
  return !plan.load_statement.empty() && !load_refused_ && runner_.supports_load_data() &&
         !no_load_.count(plan.qualified);
}

core::Status ChangeWriter::Finish() {
  if (pending_ != Pending::kLoad) return core::Status::Ok();
  return ExecuteLoad(*pending_plan_);
}

namespace {

// One field of a load line back to the text AppendLoadField was given (or an equivalent one:
// kBool 1/0, a float32's double text, a timestamp without its "+00"); `null` for \N.
void UnescapeLoadField(std::string_view field, LiteralKind kind, std::string& out, bool& null) {
  out.clear();
  null = field == "\\N";
  if (null) return;
  if (kind == LiteralKind::kBytes) {
    for (size_t i = 0; i + 1 < field.size(); i += 2) {
      out += static_cast<char>(core::HexDigitValue(field[i]) * 16 +
                               core::HexDigitValue(field[i + 1]));
    }
    return;
  }
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c == '\\' && i + 1 < field.size()) {
      char next = field[++i];
      c = next == 't' ? '\t' : next == 'n' ? '\n' : next == '0' ? '\0' : next;
    }
    out += c;
  }
}

}  // namespace

core::Status ChangeWriter::ExecuteLoad(const TablePlan& plan) {
  core::Status s = HandOverLoadPiece();
  pending_ = Pending::kNone;
  pending_plan_ = nullptr;
  unsigned int warnings = 0;
  if (s.ok() && load_started_) s = runner_.EndLoad(&warnings);
  load_started_ = false;
  if (s.ok() && warnings == 0) {
    load_pieces_.clear();
    load_bytes_ = 0;
    return s;
  }
  const int code = runner_.last_error_code();
  // The server refuses LOAD DATA LOCAL (local_infile=OFF): ER_NOT_ALLOWED_COMMAND, MySQL 8's
  // ER_CLIENT_LOCAL_FILES_DISABLED.
  if (!s.ok() && (code == 1148 || code == 3948)) {
    spdlog::info("mysql sink: the target refuses LOAD DATA LOCAL INFILE ({}); snapshot rows go "
                 "in as INSERT statements (set local_infile=ON on the server for faster loads)",
                 s.message());
    load_refused_ = true;
  } else if (!s.ok() && mysql::ClassifyMysqlErrorKind(static_cast<unsigned int>(code)) !=
                            mysql::MysqlErrorKind::kData) {
    load_pieces_.clear();
    load_bytes_ = 0;
    return s.WithContext("table " + plan.qualified);  // the connection or the server: retry
  }
  // A duplicate key or a value the server would clip: undo the load and write its rows again
  // as INSERT, which upserts them or fails naming the row. The rows come back from the load's
  // own text (the batches they came from may be gone: a load spans batches).
  SLUICE_RETURN_IF_ERROR(runner_.Execute("ROLLBACK TO SAVEPOINT sluice_load"));
  no_load_.insert(plan.qualified);
  core::EventBatch rows;
  std::string value;
  bool null = false;
  for (std::string_view text : load_pieces_) {  // pieces end at row boundaries
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      uint32_t row = rows.BeginRow();
      for (size_t column = 0; column < plan.kinds.size(); ++column) {
        size_t tab = line.find('\t');
        UnescapeLoadField(line.substr(0, tab), plan.kinds[column], value, null);
        line.remove_prefix(tab == std::string_view::npos ? line.size() : tab + 1);
        if (null) {
          rows.AppendNull();
        } else {
          rows.AppendValue(value);
        }
      }
      rows.EndRow();
      rows.AddEvent({core::Op::kRead, core::kNoRow, row, 0, plan.schema});
    }
  }
  load_pieces_.clear();
  load_bytes_ = 0;
  for (uint32_t i = 0; i < rows.events().size(); ++i) {
    SLUICE_RETURN_IF_ERROR(AddUpsert(rows, plan, rows.events()[i].after));
  }
  return ExecutePending(rows);
}

core::Status ChangeWriter::AddDelete(const core::EventBatch& batch, const TablePlan& plan,
                                     uint32_t row) {
  core::RowView view = batch.row(row);
  const core::TableSchema& schema = *plan.schema;
  if (!schema.HasKey()) {
    // No key: delete one row equal to the full before image.
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    scratch_ = "DELETE FROM " + plan.qualified + " WHERE ";
    ValueError e = AppendKeyPredicate(scratch_, plan, view, escaper_);
    if (!e.ok()) return ValueFailure(plan, view, e);
    scratch_ += " LIMIT 1";
    return ExecuteStatement(scratch_, batch, plan, {row});
  }
  bool single = schema.key.size() == 1;
  if (pending_ != Pending::kDelete || pending_plan_ != &plan ||
      sql_.size() >= max_statement_bytes_) {
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    sql_ = "DELETE FROM " + plan.qualified + " WHERE ";
    if (single) sql_ += plan.quoted[schema.key[0]] + " IN (";
    pending_ = Pending::kDelete;
    pending_plan_ = &plan;
  } else {
    sql_ += single ? "," : " OR ";
  }
  ValueError e;
  if (single) {
    uint32_t k = schema.key[0];
    if (view.is_present(k)) {
      e = {k, AppendLiteral(sql_, plan.kinds[k], view.text(k), escaper_)};
    } else {
      sql_ += "NULL";
    }
  } else {
    sql_ += '(';
    e = AppendKeyPredicate(sql_, plan, view, escaper_);
    sql_ += ')';
  }
  if (!e.ok()) return ValueFailure(plan, view, e);
  sql_rows_.push_back(row);
  return core::Status::Ok();
}

core::Status ChangeWriter::RunUpdate(const core::EventBatch& batch, const TablePlan& plan,
                                     uint32_t row, uint32_t key_row, bool set_key) {
  SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
  core::RowView view = batch.row(row);
  ValueError e = BuildUpdateStatement(scratch_, plan, view, batch.row(key_row), set_key, escaper_);
  if (!e.ok()) return ValueFailure(plan, view, e);
  if (scratch_.empty()) return core::Status::Ok();
  return ExecuteStatement(scratch_, batch, plan, {row});
}

core::Status ChangeWriter::ApplyEvent(const core::EventBatch& batch, const core::ChangeEvent& event) {
  if (!event.table) return core::InvalidArgumentError("mysql sink: event without a table schema");
  SLUICE_ASSIGN_OR_RETURN(const TablePlan* plan,
                          plans_.PlanFor(event.table, /*touch=*/true,
                                           [&] { return ExecutePending(batch); }));
  const core::TableSchema& schema = *event.table;
  switch (event.op) {
    case core::Op::kRead:
      if (event.after == core::kNoRow) return core::Status::Ok();
      // A row joining the load in progress skips the checks (one per run, not one per row).
      if ((pending_ == Pending::kLoad && pending_plan_ == plan) || Loads(*plan)) {
        return AddLoad(batch, *plan, event.after);
      }
      return AddUpsert(batch, *plan, event.after);
    case core::Op::kCreate:
      if (event.after == core::kNoRow) return core::Status::Ok();
      return AddUpsert(batch, *plan, event.after);
    case core::Op::kUpdate: {
      if (event.after == core::kNoRow) return core::Status::Ok();
      core::RowView after = batch.row(event.after);
      bool unchanged = false;
      for (uint32_t i = 0; i < after.size(); ++i) unchanged |= after.is_unchanged(i);
      bool key_changed = schema.HasKey() && event.before != core::kNoRow &&
                         !core::SameKey(schema, batch.row(event.before), after);
      if (!schema.HasKey()) {
        // Keyless: update the row equal to the full before image when there is one.
        if (event.before == core::kNoRow) return AddUpsert(batch, *plan, event.after);
        return RunUpdate(batch, *plan, event.after, event.before, /*set_key=*/true);
      }
      if (unchanged) {
        return RunUpdate(batch, *plan, event.after, key_changed ? event.before : event.after,
                         key_changed);
      }
      if (key_changed) SLUICE_RETURN_IF_ERROR(AddDelete(batch, *plan, event.before));
      return AddUpsert(batch, *plan, event.after);
    }
    case core::Op::kDelete: {
      uint32_t row = event.before != core::kNoRow ? event.before : event.after;
      if (row == core::kNoRow) return core::Status::Ok();
      return AddDelete(batch, *plan, row);
    }
    case core::Op::kTruncate: {
      SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
      // DELETE, not TRUNCATE: TRUNCATE commits implicitly and would break the batch's atomicity.
      return ExecuteStatement("DELETE FROM " + plan->qualified, batch, *plan, {});
    }
  }
  return core::Status::Ok();
}

}  // namespace sluice::sinks::mysql_sink
