#include "sinks/postgres/pg_session.h"

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Status;

std::string DescribeEvent(const EventBatch& batch, uint32_t event_index) {
  if (event_index >= batch.events().size()) return "batch";
  const core::ChangeEvent& e = batch.events()[event_index];
  std::string out = "table " + e.table->id.ToString();
  uint32_t row_index = e.before != core::kNoRow ? e.before : e.after;
  if (row_index == core::kNoRow || !e.table->HasKey()) return out;
  core::RowView row = batch.row(row_index);
  out += ", key (";
  for (size_t i = 0; i < e.table->key.size(); ++i) {
    uint32_t k = e.table->key[i];
    if (i > 0) out += ", ";
    out += e.table->columns[k].name + "=";
    if (k >= row.size() || !row.is_present(k)) {
      out += "NULL";
    } else {
      std::string_view v = row.text(k);
      if (v.size() > 64) v = v.substr(0, 64);
      out.append(v);
    }
  }
  out += ")";
  return out;
}

bool FailureNeedsPreciseReplay(PendingKind kind, bool for_event, bool named, bool retriable) {
  bool unnamed_row = kind == PendingKind::kExecMany ||
                     (kind == PendingKind::kExec && for_event && !named);
  return unnamed_row && !retriable;
}

Status PgSession::Connect(const std::string& url) {
  Close();
  return conn_.Connect(url);
}

void PgSession::Close() {
  conn_.Close();
  in_txn_ = false;
  in_pipeline_ = false;
  pending_.clear();
  sent_since_sync_ = 0;
}

bool PgSession::transaction_failed() const {
  return conn_.raw() != nullptr && PQtransactionStatus(conn_.raw()) == PQTRANS_INERROR;
}

Status PgSession::Begin() {
  if (in_txn_) return Status::Ok();
  if (in_pipeline_) {
    SLUICE_RETURN_IF_ERROR(SendPlain("BEGIN"));
  } else {
    auto r = conn_.Exec("BEGIN");
    if (!r.ok()) return r.status();
  }
  in_txn_ = true;
  return Status::Ok();
}

Status PgSession::EnterPipeline() {
  if (in_pipeline_) return Status::Ok();
  if (PQenterPipelineMode(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
  in_pipeline_ = true;
  return Status::Ok();
}

Status PgSession::Flush() {
  if (in_pipeline_ && PQflush(conn_.raw()) != 0) {
    return conn_.ConnectionError("postgres sink pipeline");
  }
  return Status::Ok();
}

Status PgSession::SendPlain(const char* sql) {
  if (PQsendQueryParams(conn_.raw(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    return conn_.ConnectionError(std::string("postgres sink: sending ") + sql);
  }
  pending_.push_back({PendingKind::kExec, kNoEvent, nullptr, batch_seq_});
  return Status::Ok();
}

core::Result<std::string> PgSession::Prepare(const std::string& sql, uint32_t event,
                                             const std::string* table) {
  SLUICE_RETURN_IF_ERROR(EnterPipeline());
  std::string name = "sluice_" + std::to_string(++statement_counter_);
  if (PQsendPrepare(conn_.raw(), name.c_str(), sql.c_str(), 0, nullptr) != 1) {
    return conn_.ConnectionError("postgres sink: preparing for " + (table ? *table : "?"));
  }
  pending_.push_back({PendingKind::kPrepare, event, table, batch_seq_});
  return name;
}

Status PgSession::SendPrepared(const std::string& name, const std::vector<const char*>& values,
                               uint32_t event, const std::string* table, bool many) {
  SLUICE_RETURN_IF_ERROR(EnterPipeline());
  if (PQsendQueryPrepared(conn_.raw(), name.c_str(), static_cast<int>(values.size()),
                          values.data(), nullptr, nullptr, 0) != 1) {
    return conn_.ConnectionError("postgres sink: sending to " + (table ? *table : "?"));
  }
  PendingKind kind = many ? PendingKind::kExecMany : PendingKind::kExec;
  pending_.push_back({kind, event, table, batch_seq_});
  if (++sent_since_sync_ >= kStatementsPerSync) {
    // Bounded in-flight results: the server never blocks on a full socket we do not read.
    if (PQpipelineSync(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
    pending_.push_back({PendingKind::kSync, 0, nullptr});
    sent_since_sync_ = 0;
  }
  return Status::Ok();
}

Status PgSession::SyncAndDrain(const EventBatch* batch) {
  if (!in_pipeline_) return Status::Ok();
  if (pending_.empty() || pending_.back().kind != PendingKind::kSync) {
    if (PQpipelineSync(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
    pending_.push_back({PendingKind::kSync, 0, nullptr, batch_seq_});
  }
  sent_since_sync_ = 0;
  Status first;
  PGconn* c = conn_.raw();
  for (const Pending& p : pending_) {
    if (p.kind == PendingKind::kSync) {
      PGresult* r = PQgetResult(c);
      if (r == nullptr) r = PQgetResult(c);
      if (r == nullptr) {
        if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline");
        break;
      }
      bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (!sync) {
        if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline: lost sync");
        break;
      }
      continue;
    }
    bool got = false;
    while (PGresult* r = PQgetResult(c)) {
      got = true;
      if (PQresultStatus(r) == PGRES_FATAL_ERROR && first.ok()) {
        // The event can be named only while its batch is here (the Apply() call that sent it).
        bool named = batch != nullptr && p.seq == batch_seq_ && p.event != kNoEvent;
        std::string what = "postgres sink";
        if (named) {
          what += ": " + DescribeEvent(*batch, p.event);
        } else if (p.table != nullptr) {
          what += ": table " + *p.table;
        }
        if (p.kind == PendingKind::kPrepare) what += ": preparing a statement";
        if (p.kind == PendingKind::kExecMany) {
          what = "postgres sink: table " + (p.table ? *p.table : std::string("?")) +
                 ": a multi-row statement";
        }
        first = conn_.ErrorFrom(r, what);
        if (FailureNeedsPreciseReplay(p.kind, p.event != kNoEvent, named, first.IsRetriable())) {
          // Which row? Replay the batches one statement per event: that names it.
          RequestPreciseReplay();
          first = core::AbortedError(first.message() +
                                     "; replaying one statement per row to name the row");
        }
      }
      PQclear(r);
    }
    if (!got && !conn_.connected()) {
      if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline");
      break;
    }
  }
  pending_.clear();
  return first;
}

Status PgSession::ExitPipeline(const EventBatch* batch) {
  if (!in_pipeline_) return Status::Ok();
  Status s = SyncAndDrain(batch);
  if (!s.ok()) return s;
  if (PQexitPipelineMode(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
  in_pipeline_ = false;
  return Status::Ok();
}

Status PgSession::Commit(const std::string& save_sql, const std::vector<const char*>& save_params) {
  SLUICE_RETURN_IF_ERROR(Begin());
  if (in_pipeline_) {
    // The changes are in flight: the position and COMMIT follow them in the pipeline, and one
    // round trip reads every result. A failure anywhere rolls the whole transaction back.
    if (!save_sql.empty()) {
      if (PQsendQueryParams(conn_.raw(), save_sql.c_str(), static_cast<int>(save_params.size()),
                            nullptr, save_params.data(), nullptr, nullptr, 0) != 1) {
        return conn_.ConnectionError("postgres sink: saving position");
      }
      pending_.push_back({PendingKind::kExec, kNoEvent, nullptr, batch_seq_});
    }
    SLUICE_RETURN_IF_ERROR(SendPlain("COMMIT"));
    in_txn_ = false;
    Status s = ExitPipeline(nullptr);
    if (!s.ok()) return s.WithContext("postgres sink: commit");
    return Status::Ok();
  }
  if (!save_sql.empty()) {
    auto r = conn_.ExecParams(save_sql, save_params);
    if (!r.ok()) return r.status().WithContext("postgres sink: saving position");
  }
  in_txn_ = false;
  auto r = conn_.Exec("COMMIT");
  if (!r.ok()) return r.status().WithContext("postgres sink: commit");
  return Status::Ok();
}

}  // namespace sluice::sinks::pgsink
