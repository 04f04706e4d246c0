#include "core/sqlite_state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "core/parse_number.h"

namespace sluice::core {

namespace {

constexpr int kSchemaVersion = 1;

// RAII over a prepared statement; binds text/int by position (1-based).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  Status Error(std::string_view what) const {
    return InternalError("state store: " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// The one row `st` returns, read by `read(st)`; nullopt when it returns none.
template <class T, class Read>
Result<std::optional<T>> OptionalRow(Stmt& st, std::string_view what, Read read) {
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<T>();
  if (rc != SQLITE_ROW) return st.Error(what);
  return std::optional<T>(read(st));
}

Status RunDone(Stmt& st, std::string_view what) {
  if (!st.ok()) return st.Error(what);
  int rc = st.Step();
  if (rc != SQLITE_DONE) return st.Error(what);
  return Status::Ok();
}

// One file: narrowed to kStateFileMode when group or others can read it.
void RestrictFileMode(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  const mode_t mode = st.st_mode & 0777;
  if ((mode & 077) == 0) return;
  if (::chmod(file.c_str(), kStateFileMode) == 0) {
    spdlog::warn("state file '{}' was readable by group or others (mode {:o}); changed it to "
                 "600, as it holds connector configs and their passwords", file, mode);
  } else {
    spdlog::warn("state file '{}' is readable by group or others (mode {:o}) and cannot be "
                 "changed to 600 ({}); it holds connector configs and their passwords: "
                 "chmod 600 it", file, mode, std::strerror(errno));
  }
}

// The state file holds connector configs with their passwords (unless they are ${env:…} or
// ${file:…} references): only its owner may read it. A missing file is created 0600 before
// SQLite opens it (SQLite gives its -wal, -shm and -journal files the database file's mode);
// an existing file, or one of its companions, that group or others can read is set to 0600 with
// a warning. A failure to change the mode is a warning, not an error: the file may belong to
// another user who runs Sluice on purpose.
void RestrictStateFileMode(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) return;
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, kStateFileMode);
  if (fd >= 0) ::close(fd);
  // SQLite names its companions after the resolved path when `path` is a symlink.
  std::vector<std::string> bases = {path};
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(path, ec);
  if (!ec && resolved.string() != path) bases.push_back(resolved.string());
  for (const std::string& base : bases) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) RestrictFileMode(base + suffix);
  }
}

}  // namespace

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(const std::string& path) {
  RestrictStateFileMode(path);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return FailedPreconditionError("cannot open state store '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(path, db));
  // WAL: readers never block the writer, and a crash mid-write rolls back to the last commit.
  // synchronous=FULL: a committed position survives power loss, not only a process crash.
  const char* setup =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "PRAGMA foreign_keys=ON;"
      "CREATE TABLE IF NOT EXISTS sluice_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS connectors (name TEXT PRIMARY KEY, config TEXT NOT NULL,"
      "  target_state TEXT NOT NULL, created_ms INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS positions (connector TEXT PRIMARY KEY, position TEXT NOT NULL,"
      "  updated_ms INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS status_history (id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  connector TEXT NOT NULL, ts_ms INTEGER NOT NULL, state TEXT NOT NULL, trace TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS status_by_connector ON status_history(connector, id);"
      "CREATE TABLE IF NOT EXISTS syncs (id TEXT PRIMARY KEY, config TEXT NOT NULL,"
      "  state TEXT NOT NULL, progress TEXT NOT NULL, result TEXT NOT NULL,"
      "  started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL);";
  char* err = nullptr;
  rc = sqlite3_exec(db, setup, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    if (rc == SQLITE_NOTADB) {
      return FailedPreconditionError("'" + path + "' is not a Sluice state file (" + msg + ")");
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return FailedPreconditionError("state store '" + path +
                                     "' is locked by another process: " + msg);
    }
    return InternalError("cannot initialise state store '" + path + "': " + msg);
  }
  {
    Stmt st(db, "SELECT value FROM sluice_meta WHERE key='schema_version'");
    if (!st.ok()) return st.Error("read schema version");
    if (st.Step() == SQLITE_ROW) {
      auto version = ParseNumber<int>(st.Text(0), "state store '" + path + "' schema_version");
      if (!version.ok()) return version.status();
      if (*version > kSchemaVersion) {
        return FailedPreconditionError("state store '" + path +
                                       "' was written by a newer Sluice; upgrade sluice");
      }
    } else {
      Stmt ins(db, "INSERT INTO sluice_meta(key, value) VALUES('schema_version', ?)");
      ins.Bind(1, std::to_string(kSchemaVersion));
      SLUICE_RETURN_IF_ERROR(RunDone(ins, "write schema version"));
    }
  }
  // Again now that SQLite has created its -wal and -shm files: a state file reached through a
  // symlink that did not resolve to a file before is created by SQLite itself.
  RestrictStateFileMode(path);
  return store;
}

SqliteStateStore::~SqliteStateStore() { sqlite3_close(db_); }

Status SqliteStateStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return InternalError("state store: " + msg);
  }
  return Status::Ok();
}

Status SqliteStateStore::PutConnector(const StoredConnector& c) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO connectors(name, config, target_state, created_ms) VALUES(?,?,?,?) "
          "ON CONFLICT(name) DO UPDATE SET config=excluded.config, "
          "target_state=excluded.target_state");
  st.Bind(1, c.name).Bind(2, c.config_json).Bind(3, c.target_state)
      .Bind(4, c.created_unix_ms ? c.created_unix_ms : NowUnixMs());
  return RunDone(st, "save connector " + c.name);
}

Result<std::optional<StoredConnector>> SqliteStateStore::GetConnector(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, config, target_state, created_ms FROM connectors WHERE name=?");
  if (!st.ok()) return st.Error("read connector");
  st.Bind(1, name);
  return OptionalRow<StoredConnector>(st, "read connector " + name, [](Stmt& row) {
    return StoredConnector{row.Text(0), row.Text(1), row.Text(2), row.Int(3)};
  });
}

Result<std::vector<StoredConnector>> SqliteStateStore::ListConnectors() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, config, target_state, created_ms FROM connectors ORDER BY name");
  if (!st.ok()) return st.Error("list connectors");
  std::vector<StoredConnector> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(StoredConnector{st.Text(0), st.Text(1), st.Text(2), st.Int(3)});
  }
  if (rc != SQLITE_DONE) return st.Error("list connectors");
  return out;
}

Status SqliteStateStore::SetTargetState(const std::string& name, const std::string& target_state) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE connectors SET target_state=? WHERE name=?");
  st.Bind(1, target_state).Bind(2, name);
  return RunDone(st, "set state of " + name);
}

Status SqliteStateStore::DeleteConnector(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const char* sql : {"DELETE FROM connectors WHERE name=?", "DELETE FROM positions WHERE connector=?",
                          "DELETE FROM status_history WHERE connector=?"}) {
    Stmt st(db_, sql);
    st.Bind(1, name);
    Status s = RunDone(st, "delete connector " + name);
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
  }
  return Exec("COMMIT");
}

Result<std::optional<SourcePosition>> SqliteStateStore::LoadPosition(const std::string& connector) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT position FROM positions WHERE connector=?");
  if (!st.ok()) return st.Error("read position");
  st.Bind(1, connector);
  return OptionalRow<SourcePosition>(st, "read position of " + connector,
                                     [](Stmt& row) { return SourcePosition{row.Text(0)}; });
}

Status SqliteStateStore::SavePosition(const std::string& connector,
                                      const SourcePosition& position) {
  std::lock_guard lock(mu_);
  return WritePosition(connector, position);
}

Status SqliteStateStore::SavePositionCopy(const std::string& connector,
                                          const SourcePosition& position) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  Status saved = WritePosition(connector, position);
  Status restored = Exec("PRAGMA synchronous=FULL");
  return saved.ok() ? restored : saved;
}

Status SqliteStateStore::WritePosition(const std::string& connector,
                                       const SourcePosition& position) {
  Stmt st(db_,
          "INSERT INTO positions(connector, position, updated_ms) VALUES(?,?,?) "
          "ON CONFLICT(connector) DO UPDATE SET position=excluded.position, "
          "updated_ms=excluded.updated_ms");
  st.Bind(1, connector).Bind(2, position.value).Bind(3, NowUnixMs());
  return RunDone(st, "save position of " + connector);
}

Status SqliteStateStore::ClearPosition(const std::string& connector) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM positions WHERE connector=?");
  st.Bind(1, connector);
  return RunDone(st, "clear position of " + connector);
}

Status SqliteStateStore::AppendStatus(const std::string& connector, const StatusRecord& r) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO status_history(connector, ts_ms, state, trace) VALUES(?,?,?,?)");
  st.Bind(1, connector).Bind(2, r.ts_unix_ms ? r.ts_unix_ms : NowUnixMs()).Bind(3, r.state)
      .Bind(4, r.trace);
  SLUICE_RETURN_IF_ERROR(RunDone(st, "append status of " + connector));
  Stmt trim(db_,
            "DELETE FROM status_history WHERE connector=?1 AND id NOT IN (SELECT id FROM "
            "status_history WHERE connector=?1 ORDER BY id DESC LIMIT ?2)");
  trim.Bind(1, connector).Bind(2, static_cast<int64_t>(kStatusHistoryMax));
  return RunDone(trim, "trim status history of " + connector);
}

Result<std::vector<StatusRecord>> SqliteStateStore::StatusHistory(const std::string& connector,
                                                            size_t limit) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT ts_ms, state, trace FROM status_history WHERE connector=? ORDER BY id DESC "
          "LIMIT ?");
  if (!st.ok()) return st.Error("read status history");
  st.Bind(1, connector).Bind(2, static_cast<int64_t>(limit));
  std::vector<StatusRecord> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.Int(0), st.Text(1), st.Text(2)});
  if (rc != SQLITE_DONE) return st.Error("read status history");
  return out;
}

Status SqliteStateStore::PutSync(const SyncRecord& s) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO syncs(id, config, state, progress, result, started_ms, "
          "finished_ms) VALUES(?,?,?,?,?,?,?)");
  st.Bind(1, s.id).Bind(2, s.config_json).Bind(3, s.state).Bind(4, s.progress_json)
      .Bind(5, s.result_json).Bind(6, s.started_unix_ms).Bind(7, s.finished_unix_ms);
  return RunDone(st, "save sync " + s.id);
}

namespace {
SyncRecord ReadSync(const Stmt& st) {
  return SyncRecord{st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5), st.Int(6)};
}
}  // namespace

Result<std::optional<SyncRecord>> SqliteStateStore::GetSync(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT id, config, state, progress, result, started_ms, finished_ms FROM syncs WHERE "
          "id=?");
  if (!st.ok()) return st.Error("read sync");
  st.Bind(1, id);
  return OptionalRow<SyncRecord>(st, "read sync " + id, [](Stmt& row) { return ReadSync(row); });
}

Result<std::vector<SyncRecord>> SqliteStateStore::ListSyncs() {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT id, config, state, progress, result, started_ms, finished_ms FROM syncs ORDER "
          "BY started_ms, id");
  if (!st.ok()) return st.Error("list syncs");
  std::vector<SyncRecord> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadSync(st));
  if (rc != SQLITE_DONE) return st.Error("list syncs");
  return out;
}

}  // namespace sluice::core
