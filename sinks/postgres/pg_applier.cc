// PgApplier: the orchestration of the PostgreSQL sink's roles (pg_applier.h).
#include "sinks/postgres/pg_applier.h"

#include <spdlog/spdlog.h>

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Op;
using core::Status;

namespace {

TargetName SplitTableName(const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

bool AnyUnchanged(const EventBatch& batch, size_t begin, size_t end) {
  for (size_t k = begin; k < end; ++k) {
    core::RowView row = batch.row(batch.events()[k].after);
    for (uint32_t c = 0; c < row.size(); ++c) {
      if (row.is_unchanged(c)) return true;
    }
  }
  return false;
}

}  // namespace

PgApplier::PgApplier(const PostgresSinkOptions& options, std::shared_ptr<spdlog::logger> logger)
    : options_(options),
      logger_(std::move(logger)),
      offsets_(SplitTableName(options.offsets_table)),
      catalog_(options_, logger_, session_),
      loader_(logger_, session_),
      writer_(session_) {}

PgApplier::~PgApplier() { Disconnect(); }

Status PgApplier::Connect() {
  Disconnect();
  SLUICE_RETURN_IF_ERROR(session_.Connect(options_.url));
  PgConnection& conn = session_.conn();
  auto exists = conn.ExecParams("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                                {offsets_.schema.c_str()});
  if (!exists.ok()) return exists.status().WithContext("postgres sink: offsets table");
  if (PQntuples(exists->get()) == 0) {
    auto r = conn.Exec("CREATE SCHEMA IF NOT EXISTS " + sluice::pg::QuoteIdent(offsets_.schema));
    if (!r.ok()) return r.status().WithContext("postgres sink: creating offsets schema");
  }
  auto r = conn.Exec(CreateOffsetsTableSql(offsets_));
  if (!r.ok()) {
    return r.status().WithContext("postgres sink: creating offsets table " + offsets_.Qualified());
  }
  return Status::Ok();
}

void PgApplier::Disconnect() {
  // The transaction, its DDL and the session's prepared statements are gone. The mode and the
  // staged tables stay: the pipeline's replay needs them.
  session_.Close();
  catalog_.Clear();
  loader_.SessionLost();
  writer_.SessionLost();
  emptying_.clear();  // rolled back with the transaction
}

core::Result<std::optional<std::string>> PgApplier::LoadOffset() {
  auto r = session_.conn().ExecParams(LoadOffsetSql(offsets_), {options_.connector_name.c_str()});
  if (!r.ok()) return r.status().WithContext("postgres sink: reading " + offsets_.Qualified());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>();
  return std::optional<std::string>(PQgetvalue(r->get(), 0, 0));
}

Status PgApplier::Apply(const EventBatch& batch) { return Settle(ApplyBatch(batch)); }

Status PgApplier::Commit(const std::optional<core::SourcePosition>& checkpoint) {
  return Settle(CommitTransaction(checkpoint));
}

Status PgApplier::BuildDeferredKeys() { return Settle(BuildKeys(nullptr)); }

Status PgApplier::Settle(Status status) {
  const bool row_unnamed = session_.TakePreciseReplayRequest();
  if (!status.ok()) mode_.AfterFailure(row_unnamed);
  return status;
}

RoleSwitch SwitchTo(Role role, bool keys_deferred) {
  RoleSwitch s;
  switch (role) {
    case Role::kCommit:
      s.send_runs = true;
      s.end_copy = true;  // the position and COMMIT may follow the pipeline's statements
      break;
    case Role::kCatalog:
      s.send_runs = true;
      s.end_copy = true;
      s.exit_pipeline = true;
      break;
    case Role::kLoader:
      s.send_runs = true;
      s.exit_pipeline = true;  // the loader ends or keeps its own COPY
      break;
    case Role::kWriter:
      // Changes upsert and delete by key: a key deferred for a snapshot load is built first
      // (rule 3 in table_catalog.cc).
      s.build_deferred_keys = keys_deferred;
      s.end_copy = true;
      break;
  }
  return s;
}

Status PgApplier::Activate(Role role, const EventBatch* batch) {
  RoleSwitch s = SwitchTo(role, catalog_.has_deferred_keys());
  if (s.send_runs && writer_.has_open_runs()) SLUICE_RETURN_IF_ERROR(writer_.SendRuns());
  if (s.build_deferred_keys) SLUICE_RETURN_IF_ERROR(BuildKeys(batch));
  if (s.end_copy) SLUICE_RETURN_IF_ERROR(loader_.EndStream());
  if (s.exit_pipeline) SLUICE_RETURN_IF_ERROR(session_.ExitPipeline(batch));
  return Status::Ok();
}

core::Result<const TableState*> PgApplier::Ensure(const core::TableSchemaPtr& schema,
                                                  const EventBatch& batch, bool for_snapshot) {
  if (const TableState* t = catalog_.Lookup(schema)) return t;
  SLUICE_RETURN_IF_ERROR(Activate(Role::kCatalog, &batch));
  const uint64_t replaced = catalog_.LoadedId(schema->id);
  SLUICE_ASSIGN_OR_RETURN(TableState * t, catalog_.Load(schema, for_snapshot));
  if (replaced != 0) {
    loader_.Forget(replaced);
    writer_.Forget(replaced);
  }
  return static_cast<const TableState*>(t);
}

core::Result<const TableState*> PgApplier::Resolve(const core::TableSchemaPtr& schema,
                                                   const EventBatch& batch) {
  return Ensure(schema, batch, false);
}

Status PgApplier::BuildKeys(const EventBatch* batch) {
  if (!catalog_.has_deferred_keys()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(Activate(Role::kCatalog, batch));
  const bool own_transaction = !session_.in_transaction();
  SLUICE_RETURN_IF_ERROR(session_.Begin());
  SLUICE_RETURN_IF_ERROR(catalog_.BuildDeferredKeys());
  return own_transaction ? CommitTransaction(std::nullopt) : Status::Ok();
}

Status PgApplier::CommitTransaction(const std::optional<core::SourcePosition>& checkpoint) {
  SLUICE_RETURN_IF_ERROR(Activate(Role::kCommit, nullptr));
  if (!session_.in_transaction() && !checkpoint) return Status::Ok();
  Status s = checkpoint ? session_.Commit(SaveOffsetSql(offsets_),
                                          {options_.connector_name.c_str(),
                                           checkpoint->value.c_str()})
                        : session_.Commit(std::string(), {});
  if (!s.ok()) return s;
  mode_.AfterCommit();
  loader_.Committed();
  emptied_.merge(emptying_);
  return Status::Ok();
}

Status PgApplier::EmptyForReplacement(const TableState& t, const EventBatch& batch) {
  if (emptied_.count(t.qualified) > 0 || emptying_.count(t.qualified) > 0) return Status::Ok();
  // A table this run created holds nothing to replace (and, with two source tables mapped to
  // it, may hold the other one's rows by the time the second is announced).
  if (t.created) {
    emptying_.insert(t.qualified);
    return Status::Ok();
  }
  SLUICE_RETURN_IF_ERROR(Activate(Role::kCatalog, &batch));
  emptying_.insert(t.qualified);
  // TRUNCATE refuses a table that a foreign key references (and CASCADE would empty tables
  // this sync does not copy): such a table keeps its rows, and the re-run upserts over them.
  auto referenced = session_.conn().ExecParams(
      "SELECT 1 FROM pg_constraint WHERE confrelid = to_regclass($1) AND contype = 'f' LIMIT 1",
      {t.qualified.c_str()});
  if (!referenced.ok()) {
    return referenced.status().WithContext("postgres sink: table " + t.qualified);
  }
  if (PQntuples(referenced->get()) > 0) {
    if (logger_) {
      logger_->warn("postgres sink: {} is referenced by a foreign key, so this sync does not "
                    "empty it: rows deleted at the source since the earlier run stay",
                    t.qualified);
    }
    return Status::Ok();
  }
  auto r = session_.conn().Exec("TRUNCATE " + t.qualified);
  if (!r.ok()) {
    return r.status().WithContext("postgres sink: emptying " + t.qualified +
                                  " for a sync that replaces an earlier run's rows");
  }
  if (logger_) {
    logger_->info("postgres sink: {} emptied: this sync replaces the rows of an earlier run",
                  t.qualified);
  }
  return Status::Ok();
}

Status PgApplier::ApplyBatch(const EventBatch& batch) {
  session_.NextBatch();
  // Fast mode: BEGIN goes out with the batch's first statements (no round trip of its own).
  if (!session_.in_transaction() && !mode_.precise()) {
    SLUICE_RETURN_IF_ERROR(session_.EnterPipeline());
  }
  SLUICE_RETURN_IF_ERROR(session_.Begin());
  // A table announced again while its key is still deferred: a second snapshot attempt in this
  // session (the pipeline restarted the source), which sends its rows again. Rule (1) in
  // table_catalog.cc: the key is built now, over the first attempt's rows only.
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    if (catalog_.key_deferred(table->id)) {
      SLUICE_RETURN_IF_ERROR(BuildKeys(nullptr));
      break;
    }
  }
  // Announced tables (a snapshot's, even empty ones) are created or brought up to date first,
  // in the transaction that commits with the batch's position.
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    SLUICE_ASSIGN_OR_RETURN(const TableState* t, Ensure(table, batch, /*for_snapshot=*/true));
    if (replace_tables_) SLUICE_RETURN_IF_ERROR(EmptyForReplacement(*t, batch));
  }
  const auto& events = batch.events();
  size_t i = 0;
  while (i < events.size()) {
    const core::ChangeEvent& e = events[i];
    SLUICE_ASSIGN_OR_RETURN(const TableState* t, Ensure(e.table, batch, false));
    size_t j = i + 1;
    if (e.op == Op::kRead) {
      while (j < events.size() && events[j].op == Op::kRead && events[j].table == e.table) ++j;
      SLUICE_RETURN_IF_ERROR(Activate(Role::kLoader, &batch));
      if (!AnyUnchanged(batch, i, j)) {
        SLUICE_RETURN_IF_ERROR(loader_.Load(batch, *t, i, j, mode_.precise()));
      } else {
        // A snapshot row with unchanged cells is an upsert of the cells it has.
        SLUICE_RETURN_IF_ERROR(Activate(Role::kWriter, nullptr));
        SLUICE_RETURN_IF_ERROR(writer_.UpsertRows(batch, *t, i, j));
      }
    } else {
      while (j < events.size() && events[j].op != Op::kRead) ++j;
      SLUICE_RETURN_IF_ERROR(Activate(Role::kWriter, &batch));
      if (mode_.precise()) {
        SLUICE_RETURN_IF_ERROR(writer_.WriteEach(batch, i, j, *this));
      } else {
        SLUICE_RETURN_IF_ERROR(writer_.WriteGrouped(batch, i, j, *this));
      }
    }
    i = j;
  }
  if (mode_.precise()) {
    // Each result read now, while the batch is here to name the row that failed.
    SLUICE_RETURN_IF_ERROR(session_.ExitPipeline(&batch));
  } else {
    SLUICE_RETURN_IF_ERROR(session_.Flush());
  }
  if (catalog_.has_deferred_keys()) {
    for (const core::TxnInfo& txn : batch.txns()) {
      // Rule (2): the snapshot's rows are all in.
      if (txn.last_snapshot_event) return BuildKeys(nullptr);
    }
  }
  return Status::Ok();
}

}  // namespace sluice::sinks::pgsink
