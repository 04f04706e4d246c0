// Throwaway database servers of a test's own (PostgreSQL 15 and MariaDB 10.11), for scenarios
// that stop, crash or restart a server: the shared servers of `make test` must never go down.
// Each runs in its own TempDir on a free loopback port and is a child process of the test, so
// that a finished test leaves nothing running.
#ifndef SLUICE_INTEGRATION_COMMON_SCRATCH_SERVER_H_
#define SLUICE_INTEGRATION_COMMON_SCRATCH_SERVER_H_

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/common/sql_client.h"
#include "integration/common/subprocess.h"
#include "integration/common/temp_dir.h"

namespace sluice::itest {

// How a scratch server goes down.
enum class ServerStop {
  kClean,  // PostgreSQL fast shutdown (SIGINT), MariaDB SIGTERM: checkpoint, clean exit
  kCrash,  // PostgreSQL immediate shutdown (SIGQUIT), MariaDB SIGKILL: crash recovery at start
};

// Common part: the data directory, the process, the port, start and stop. Start them from the
// test's main thread (Subprocess kills a child when the thread that started it ends). Not
// thread-safe except port() and the clients, which may be used from any thread.
class ScratchServer {
 public:
  virtual ~ScratchServer();
  ScratchServer(const ScratchServer&) = delete;
  ScratchServer& operator=(const ScratchServer&) = delete;

  int port() const { return port_.load(); }
  bool running() const { return server_.has_value(); }
  // Stops the server and waits until it has exited (a clean stop that takes over 30 s becomes
  // a crash).
  void Stop(ServerStop how);
  // Starts it again on the same port (another free port when that one was taken meanwhile:
  // read port() afterwards); waits until it answers queries.
  void Start();
  void Restart(ServerStop how) {
    Stop(how);
    Start();
  }
  // Freezes the server (SIGSTOP): its sockets stay open but nothing is sent, a half-open
  // connection as a client sees it. Resume() thaws it; Stop() and the destructor thaw it first.
  void Freeze();
  void Resume();
  const std::filesystem::path& dir() const { return dir_.path(); }
  // The server's own log, for failure messages.
  virtual std::string LogTail() const = 0;

 protected:
  explicit ScratchServer(std::string_view prefix) : dir_(prefix) {}
  virtual std::vector<std::string> Command(int port) const = 0;
  virtual int StopSignal(ServerStop how) const = 0;
  virtual bool Ready() const = 0;
  virtual bool PortTaken() const = 0;  // the last start failed because the port was in use
  // Launches the server and waits up to `timeout` for it to answer; false when it exited.
  bool Launch(std::chrono::seconds timeout);

  TempDir dir_;
  std::atomic<int> port_{0};
  std::optional<Subprocess> server_;
};

// PostgreSQL 15 (initdb as the postgres user when run as root), wal_level=logical, trusted
// local users; superuser `postgres`.
class ScratchPostgres : public ScratchServer {
 public:
  // `extra_conf` lines are appended to postgresql.conf.
  explicit ScratchPostgres(const std::string& extra_conf = "");
  ~ScratchPostgres() override;
  PgClient Client(const std::string& dbname = "postgres") const;
  std::string LogTail() const override;

 private:
  std::vector<std::string> Command(int port) const override;
  int StopSignal(ServerStop how) const override;
  bool Ready() const override;
  bool PortTaken() const override;
  std::string bindir_;
  bool as_postgres_ = false;
};

// On a freshly installed mariadbd reached through `socket`: root without password over TCP and
// the CDC user kPasswordUser (SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT).
// HarnessError naming `server` when that fails.
void CreateMariadbTestUsers(const std::string& socket, const std::string& server);

// MariaDB 10.11 with a ROW/FULL binlog, root without password over TCP, and the CDC user
// kPasswordUser (SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT). Commits reach the OS at
// each commit (innodb_flush_log_at_trx_commit=2), so a crash (SIGKILL) loses nothing committed.
// `extra_args` are appended to mariadbd's command line (TLS files, for instance).
class ScratchMariadb : public ScratchServer {
 public:
  explicit ScratchMariadb(std::vector<std::string> extra_args = {});
  ~ScratchMariadb() override;
  MysqlClient Client(const std::string& dbname = "") const;
  std::string LogTail() const override;

 private:
  std::vector<std::string> Command(int port) const override;
  int StopSignal(ServerStop how) const override;
  bool Ready() const override;
  bool PortTaken() const override;
  std::string socket_;
  std::vector<std::string> extra_args_;
};

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_SCRATCH_SERVER_H_
