#include "integration/common/scratch_server.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

std::string PgBindir() {
  if (std::filesystem::exists("/usr/lib/postgresql/15/bin/initdb")) return "/usr/lib/postgresql/15/bin";
  CommandResult r = RunCommand({"pg_config", "--bindir"}, {.timeout = 10s});
  std::string dir = r.out.substr(0, r.out.find('\n'));
  if (!r.Success() || !std::filesystem::exists(dir + "/initdb")) {
    throw HarnessError("initdb of PostgreSQL 15 not found: run 'make deps' (package postgresql-15)");
  }
  return dir;
}

// Runs `argv` as the postgres user when we are root (initdb and postgres refuse root);
// setpriv execs in place, so the process started is the program itself.
std::vector<std::string> AsPostgres(bool as_postgres, std::vector<std::string> argv) {
  if (!as_postgres) return argv;
  std::vector<std::string> out = {"setpriv", "--reuid=postgres", "--regid=postgres",
                                  "--init-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void Chown(const std::filesystem::path& path, const std::string& user) {
  CommandResult r = RunCommand({"chown", "-R", user, path.string()}, {.timeout = 30s});
  if (!r.Success()) throw HarnessError("chown " + user + " " + path.string() + ": " + r.err);
}

}  // namespace

// --- ScratchServer ------------------------------------------------------------------------------

ScratchServer::~ScratchServer() = default;

bool ScratchServer::Launch(std::chrono::seconds timeout) {
  ProcessOptions o;
  o.argv = Command(port_.load());
  o.stdout_path = dir_ / "server.out";
  o.stderr_path = dir_ / "server.err";
  server_.emplace(o);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!server_->IsRunning()) return false;
    if (Ready()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void ScratchServer::Start() {
  if (server_) throw HarnessError("scratch server in " + dir_.path().string() + " runs already");
  if (port_.load() == 0) port_ = FreeLoopbackPort();
  for (int attempt = 1; attempt <= 5; ++attempt) {
    if (Launch(120s)) return;
    const bool taken = PortTaken();
    server_->Kill();
    server_.reset();
    if (!taken || attempt == 5) {
      throw HarnessError("scratch server in " + dir_.path().string() + " did not start on port " +
                         std::to_string(port_.load()) + ":\n" + LogTail());
    }
    port_ = FreeLoopbackPort();  // someone took the port while the server was down
  }
}

void ScratchServer::Freeze() {
  if (server_) server_->Signal(SIGSTOP);
}

void ScratchServer::Resume() {
  if (server_) server_->Signal(SIGCONT);
}

void ScratchServer::Stop(ServerStop how) {
  if (!server_) return;
  Resume();  // a frozen server would never act on the stop signal
  server_->Signal(StopSignal(how));
  // A clean stop may wait on clients (a PostgreSQL fast shutdown waits until each walsender's
  // client confirms the end of WAL): after 30 s it becomes a crash. SIGKILL only as a last
  // resort, since a killed postmaster leaves its backends behind.
  if (how == ServerStop::kClean && !server_->WaitFor(30s)) {
    server_->Signal(StopSignal(ServerStop::kCrash));
  }
  if (!server_->WaitFor(60s)) server_->Kill();
  server_.reset();
}

// --- ScratchPostgres ----------------------------------------------------------------------------

ScratchPostgres::ScratchPostgres(const std::string& extra_conf)
    : ScratchServer("scratch-pg"), bindir_(PgBindir()), as_postgres_(geteuid() == 0) {
  const auto data = dir_ / "data";
  std::filesystem::create_directories(data);
  std::filesystem::create_directories(dir_ / "sock");
  if (as_postgres_) {
    Chown(data, "postgres");
    Chown(dir_ / "sock", "postgres");
  }
  CommandResult init = RunCommand(
      AsPostgres(as_postgres_, {bindir_ + "/initdb", "-D", data.string(), "-A", "trust", "-U",
                                "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
                                "--no-instructions"}),
      {.timeout = 120s, .working_dir = "/"});
  if (!init.Success()) throw HarnessError("initdb in " + data.string() + ": " + init.err + init.out);
  std::string conf =
      "\n# sluice scratch server (integration/common/scratch_server.cc)\n"
      "listen_addresses = '127.0.0.1'\n"
      "unix_socket_directories = '" + (dir_ / "sock").string() + "'\n"
      "wal_level = logical\nmax_replication_slots = 16\nmax_wal_senders = 16\n"
      "max_connections = 100\nfsync = off\nlog_min_messages = warning\n"
      "shared_buffers = 64MB\n" + extra_conf + "\n";
  CommandResult append = RunCommand(
      AsPostgres(as_postgres_, {"sh", "-c", "cat >> " + (data / "postgresql.conf").string()}),
      {.stdin_data = conf, .timeout = 30s, .working_dir = "/"});
  if (!append.Success()) throw HarnessError("writing postgresql.conf: " + append.err);
  Start();
}

ScratchPostgres::~ScratchPostgres() { Stop(ServerStop::kCrash); }

std::vector<std::string> ScratchPostgres::Command(int port) const {
  return AsPostgres(as_postgres_, {bindir_ + "/postgres", "-D", (dir_ / "data").string(), "-p",
                                   std::to_string(port)});
}

// SIGINT: fast shutdown; SIGQUIT: immediate shutdown (no checkpoint, crash recovery at start).
int ScratchPostgres::StopSignal(ServerStop how) const {
  return how == ServerStop::kClean ? SIGINT : SIGQUIT;
}

bool ScratchPostgres::Ready() const {
  return Client().TryQuery("SELECT 1").ok;
}

bool ScratchPostgres::PortTaken() const {
  return ReadFile(dir_ / "server.err").find("could not bind") != std::string::npos ||
         ReadFile(dir_ / "server.err").find("Address already in use") != std::string::npos;
}

PgClient ScratchPostgres::Client(const std::string& dbname) const {
  return PgClient("127.0.0.1", port(), dbname, "postgres");
}

std::string ScratchPostgres::LogTail() const { return TailFile(dir_ / "server.err", 30); }

// --- ScratchMariadb -----------------------------------------------------------------------------

ScratchMariadb::ScratchMariadb(std::vector<std::string> extra_args)
    : ScratchServer("scratch-my"), extra_args_(std::move(extra_args)) {
  const std::string data = (dir_ / "data").string();
  std::filesystem::create_directories(dir_ / "binlog");
  std::filesystem::create_directories(dir_ / "tmp");
  socket_ = (dir_ / "mysqld.sock").string();
  CommandResult installed = RunCommand(
      {"mariadb-install-db", "--no-defaults", "--user=root", "--datadir=" + data,
       "--auth-root-authentication-method=normal", "--skip-test-db"},
      {.timeout = 120s});
  if (!installed.Success()) throw HarnessError("mariadb-install-db: " + installed.err + installed.out);
  Start();
  CreateMariadbTestUsers(socket_, "the scratch mariadbd");
}

void CreateMariadbTestUsers(const std::string& socket, const std::string& server) {
  CommandResult setup = RunCommand(
      {"mariadb", "--no-defaults", "-S", socket, "-uroot"},
      {.stdin_data = "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';"
                     "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
                     "CREATE USER '" + std::string(kPasswordUser) + "'@'%' IDENTIFIED BY '" +
                     kTestPassword + "';"
                     "GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '" +
                     kPasswordUser + "'@'%'; FLUSH PRIVILEGES;\n",
       .timeout = std::chrono::seconds(60)});
  if (!setup.Success()) throw HarnessError("creating users on " + server + ": " + setup.err);
}

ScratchMariadb::~ScratchMariadb() { Stop(ServerStop::kCrash); }

std::vector<std::string> ScratchMariadb::Command(int port) const {
  std::vector<std::string> argv = {"mariadbd", "--no-defaults", "--user=root", "--datadir=" + (dir_ / "data").string(),
          "--socket=" + socket_, "--port=" + std::to_string(port), "--bind-address=127.0.0.1",
          "--skip-name-resolve", "--log-error=" + (dir_ / "error.log").string(),
          "--tmpdir=" + (dir_ / "tmp").string(), "--pid-file=" + (dir_ / "mariadbd.pid").string(),
          "--log-bin=" + (dir_ / "binlog" / "mysql-bin").string(), "--binlog-format=ROW",
          "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--server-id=1",
          "--gtid-strict-mode=1", "--max-allowed-packet=256M", "--max-connections=300",
          // Durable against a process crash (the OS keeps what was written); no fsync.
          "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0",
          "--innodb-buffer-pool-size=128M", "--character-set-server=utf8mb4",
          "--collation-server=utf8mb4_general_ci"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  return argv;
}

int ScratchMariadb::StopSignal(ServerStop how) const {
  return how == ServerStop::kClean ? SIGTERM : SIGKILL;
}

bool ScratchMariadb::Ready() const {
  // ping answers 0 once the server accepts connections, even when the user is refused.
  return RunCommand({"mariadb-admin", "--no-defaults", "--protocol=TCP", "--host=127.0.0.1",
                     "--port=" + std::to_string(port()), "-uroot", "--connect-timeout=1", "ping"},
                    {.timeout = 10s})
      .Success();
}

bool ScratchMariadb::PortTaken() const {
  const std::string log = ReadFile(dir_ / "error.log");
  return log.find("Bind on TCP/IP port") != std::string::npos ||
         log.find("Address already in use") != std::string::npos;
}

MysqlClient ScratchMariadb::Client(const std::string& dbname) const {
  return MysqlClient("127.0.0.1", port(), dbname, "root");
}

std::string ScratchMariadb::LogTail() const { return TailFile(dir_ / "error.log", 30); }

}  // namespace sluice::itest
