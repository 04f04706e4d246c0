#include "connectors/postgres/slot_manager.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {

bool SamePublicationTables(std::vector<core::TableId> have, std::vector<core::TableId> want) {
  for (auto* v : {&have, &want}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return have == want;
}

core::Status SlotManager::CheckServer(bool for_start, CheckedConnections* keep) {
  const ConnectionParams& params = config_->params;
  auto conn_owner = std::make_unique<PgConnection>();
  PgConnection& conn = *conn_owner;
  SLUICE_RETURN_IF_ERROR(conn.Connect(params, false));
  SLUICE_ASSIGN_OR_RETURN(PgRows rows,
                          conn.Query("SELECT current_setting('wal_level'), "
                                     "(SELECT rolreplication OR rolsuper FROM pg_roles WHERE "
                                     "rolname = current_user), "
                                     "current_setting('server_version_num')::int"));
  std::string wal_level = rows.at(0)[0].value_or("");
  if (wal_level != "logical") {
    return core::FailedPreconditionError(
        "postgres server has wal_level=" + wal_level +
        "; logical replication needs wal_level=logical: ALTER SYSTEM SET wal_level = logical "
        "and restart the server");
  }
  if (rows[0][1].value_or("f") != "t") {
    return core::FailedPreconditionError(
        "postgres user '" + params.user + "' lacks the REPLICATION privilege: ALTER ROLE " +
        QuoteIdent(params.user) + " REPLICATION (or use a superuser)");
  }
  auto repl = std::make_unique<PgConnection>();
  SLUICE_RETURN_IF_ERROR(repl->Connect(params, true));
  if (keep == nullptr) repl.reset();
  SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListCapturedTables(conn, config_->filter));
  if (!for_start) {
    SLUICE_ASSIGN_OR_RETURN(SlotState state, ReadSlot(conn, names_.slot));
    SLUICE_RETURN_IF_ERROR(CheckSlotOwner(state, params.dbname, names_.slot));
    if (state.exists && state.active) return SlotActiveError(state);
    if (state.exists && state.wal_status == "lost" &&
        config_->mode != core::SnapshotMode::kWhenNeeded &&
        config_->mode != core::SnapshotMode::kAlways) {
      return core::FailedPreconditionError("replication slot '" + names_.slot +
                                           "' was invalidated: drop it and take a new snapshot");
    }
    if (config_->publication_mode == "disabled") {
      SLUICE_ASSIGN_OR_RETURN(PgRows pub, conn.Query("SELECT 1 FROM pg_publication WHERE pubname = " +
                                                     QuoteLiteral(names_.publication)));
      if (pub.empty()) return MissingPublicationError();
    }
  }
  for (const auto& t : tables) {
    if (!t.has_primary_key && for_start) {
      logger_->warn("postgres table {} has no primary key: {}", t.id.ToString(),
                    t.replident == 'f'
                        ? "REPLICA IDENTITY FULL sends whole before images, but the target "
                          "has no key to apply updates and deletes by"
                        : "its UPDATEs and DELETEs fail at the source unless it gets a "
                          "REPLICA IDENTITY (USING INDEX or FULL); add a primary key");
    }
  }
  if (keep != nullptr) {
    keep->conn = std::move(conn_owner);
    keep->repl = std::move(repl);
  }
  return core::Status::Ok();
}

core::Status SlotManager::SlotActiveError(const SlotState& slot) const {
  return core::FailedPreconditionError(
      "replication slot '" + names_.slot + "' is in use by another process (pid " +
      slot.active_pid + "): stop the other connector or client, or set a different slot.name");
}

core::Status SlotManager::MissingPublicationError() const {
  return core::FailedPreconditionError(
      "postgres publication '" + names_.publication + "' does not exist and "
      "publication.autocreate.mode=disabled: create it (CREATE PUBLICATION ...) or change the "
      "mode");
}

core::Result<SlotState> SlotManager::WaitSlotInactive(PgConnection& conn,
                                                      const std::atomic<bool>& stop) {
  for (int i = 0;; ++i) {
    SLUICE_ASSIGN_OR_RETURN(SlotState slot, ReadSlot(conn, names_.slot));
    SLUICE_RETURN_IF_ERROR(CheckSlotOwner(slot, config_->params.dbname, names_.slot));
    if (!slot.exists || !slot.active) return slot;
    if (i >= 20 || stop.load()) return SlotActiveError(slot);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

core::Status SlotManager::DropSlot(PgConnection& conn) {
  return conn.Exec("SELECT pg_drop_replication_slot(" + QuoteLiteral(names_.slot) + ")")
      .WithContext("dropping replication slot " + names_.slot);
}

core::Status SlotManager::EnsurePublication(PgConnection& conn) {
  const std::string& publication = names_.publication;
  const std::string& mode = config_->publication_mode;
  SLUICE_ASSIGN_OR_RETURN(PgRows pub, conn.Query("SELECT puballtables FROM pg_publication WHERE "
                                                 "pubname = " + QuoteLiteral(publication)));
  if (mode == "disabled") {
    if (pub.empty()) return MissingPublicationError();
    return core::Status::Ok();
  }
  std::string name = QuoteIdent(publication);
  // The comment marks the publication as Sluice's, to be dropped with the connector.
  const std::string comment =
      "COMMENT ON PUBLICATION " + name + " IS " + QuoteLiteral(PublicationComment(connector_));
  if (mode == "all_tables") {
    if (pub.empty()) {
      SLUICE_RETURN_IF_ERROR(
          conn.Exec("CREATE PUBLICATION " + name + " FOR ALL TABLES")
              .WithContext("creating publication " + publication + " (needs a superuser)"));
      return conn.Exec(comment).WithContext("commenting publication " + publication);
    }
    return core::Status::Ok();
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListCapturedTables(conn, config_->filter));
  std::string list;
  for (const auto& t : tables) {
    if (!list.empty()) list += ", ";
    list += QuoteIdent(t.id.schema) + "." + QuoteIdent(t.id.table);
  }
  if (pub.empty()) {
    SLUICE_RETURN_IF_ERROR(
        conn.Exec("CREATE PUBLICATION " + name + (list.empty() ? "" : " FOR TABLE " + list))
            .WithContext("creating publication " + publication));
    return conn.Exec(comment).WithContext("commenting publication " + publication);
  }
  if (pub[0][0].value_or("f") == "t") return core::Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(PgRows have_rows,
                          conn.Query("SELECT schemaname, tablename FROM pg_publication_tables "
                                     "WHERE pubname = " + QuoteLiteral(publication)));
  std::vector<core::TableId> have, want;
  for (const auto& r : have_rows) have.push_back({r[0].value_or(""), r[1].value_or("")});
  for (const auto& t : tables) want.push_back(t.id);
  if (list.empty() || SamePublicationTables(std::move(have), std::move(want))) {
    return core::Status::Ok();
  }
  return conn.Exec("ALTER PUBLICATION " + name + " SET TABLE " + list)
      .WithContext("updating publication " + publication);
}

core::Result<SlotManager::CreatedSlot> SlotManager::CreateSlot(PgConnection& repl, SlotKind kind) {
  const bool exported = kind != SlotKind::kNoSnapshot;
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      repl.Query("CREATE_REPLICATION_SLOT " + QuoteIdent(names_.slot) +
                 (kind == SlotKind::kTemporaryExportSnapshot ? " TEMPORARY" : "") +
                 (exported ? " LOGICAL pgoutput EXPORT_SNAPSHOT"
                           : " LOGICAL pgoutput NOEXPORT_SNAPSHOT")));
  CreatedSlot created;
  if (rows.empty() || rows[0].size() < 3 || !ParseLsn(rows[0][1].value_or(""), created.consistent_lsn)) {
    return core::InternalError("postgres CREATE_REPLICATION_SLOT returned no consistent point");
  }
  if (exported) {
    if (!rows[0][2]) {
      return core::InternalError("postgres CREATE_REPLICATION_SLOT returned no snapshot");
    }
    created.snapshot_name = *rows[0][2];
  }
  return created;
}

void SlotManager::DropWhenReleased() {
  PgConnection conn;
  if (!conn.Connect(config_->params, false).ok()) return;
  for (int i = 0; i < 20; ++i) {
    auto s = ReadSlot(conn, names_.slot);
    if (!s.ok() || !s->exists) break;
    if (core::Status owner = CheckSlotOwner(*s, config_->params.dbname, names_.slot);
        !owner.ok()) {
      logger_->warn("postgres: slot.drop.on.stop left the slot: {}", owner.message());
      break;
    }
    if (!s->active) {
      if (DropSlot(conn).ok()) {
        logger_->info("postgres: dropped slot {} (slot.drop.on.stop)", names_.slot);
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace sluice::pg
