// The PostgreSQL source over TLS with a client certificate (Debezium's database.sslrootcert,
// database.sslcert, database.sslkey): a throwaway server with ssl=on whose pg_hba.conf admits
// the connector's user only by `cert` authentication (the certificate's CN is the user), the
// certificates made by openssl for the test. The connector verifies the server (verify-full)
// and snapshots and streams over TLS; without its certificate it is refused with an error that
// names the keys to check, and is not retried.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "integration/common/certificates.h"
#include "integration/common/itest.h"
#include "integration/common/scratch_server.h"
#include "integration/postgres/replay.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

void MustRunCommand(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv, {.timeout = 60s});
  if (!r.Success()) throw HarnessError(r.Describe(argv));
}

// The server's copies: owned by the user the server runs as, the key readable by it alone.
std::string ServerConf(const std::filesystem::path& certs, const std::filesystem::path& dir) {
  const bool root = geteuid() == 0;
  for (const char* name : {"server.crt", "server.key", "ca.crt"}) {
    std::vector<std::string> install = {"install", "-m", "0600"};
    if (root) install.insert(install.end(), {"-o", "postgres"});
    install.insert(install.end(), {(certs / name).string(), (dir / name).string()});
    MustRunCommand(install);
  }
  return "ssl = on\nssl_cert_file = '" + (dir / "server.crt").string() + "'\nssl_key_file = '" +
         (dir / "server.key").string() + "'\nssl_ca_file = '" + (dir / "ca.crt").string() + "'\n";
}

TEST(PostgresTls, ClientCertificateAndVerifyFullSnapshotAndStream) {
  const std::string user = "certuser";
  TempDir certs("pgtls-certs");
  TempDir server_files("pgtls-server");
  MakeCertificates(certs.path(), user);
  ScratchPostgres server(ServerConf(certs.path(), server_files.path()));
  // The connector's user gets in over TLS with its certificate only.
  {
    const auto hba = server.dir() / "data" / "pg_hba.conf";
    std::ifstream in(hba);
    std::string rest((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(hba) << "hostssl all " << user << " 127.0.0.1/32 cert\n"
                       << "host all " << user << " 127.0.0.1/32 reject\n"
                       << rest;
  }
  PgClient admin = server.Client();
  admin.Exec("SELECT pg_reload_conf()");
  admin.Exec("CREATE ROLE " + user + " LOGIN SUPERUSER; CREATE DATABASE tls_src");
  PgClient src = server.Client("tls_src");
  src.Exec("CREATE TABLE items (id int PRIMARY KEY, name text);"
           "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')");

  TempDir out("pgtls-out");
  nlohmann::json config = {{"name", "pgtls"},
                           {"connector.class", "postgres"},
                           {"database.hostname", "127.0.0.1"},
                           {"database.port", std::to_string(server.port())},
                           {"database.user", user},
                           {"database.dbname", "tls_src"},
                           {"database.sslmode", "verify-full"},
                           {"database.sslrootcert", (certs.path() / "ca.crt").string()},
                           {"database.sslcert", (certs.path() / "client.crt").string()},
                           {"database.sslkey", (certs.path() / "client.key").string()},
                           {"sink.type", "file"},
                           {"sink.url", out.path().string()},
                           {"sink.file.fsync", "false"},
                           {"sink.batch.ms", "50"}};

  // Without its certificate the user is refused: a clear error naming the keys, no retries.
  nlohmann::json no_cert = config;
  no_cert.erase("database.sslcert");
  no_cert.erase("database.sslkey");
  EXPECT_TRUE(RefusedAtStart(no_cert, {"certificate", "database.sslcert"}));

  SluiceProcess run = SluiceProcess::Run(config);
  auto source = [&] { return src.Query("SELECT id::text, name FROM items"); };
  auto target = [&] {
    return ReplayTable(out.path(), "public", "items", {"id"}, {{"id"}, {"name"}});
  };
  WaitUntil([&] { return TablesMatch(source(), target()); }, 60s,
            "the snapshot arrives over TLS; sluice log:\n" + run.LogTail());
  src.Exec("INSERT INTO items VALUES (4, 'four'); UPDATE items SET name = 'uno' WHERE id = 1");
  WaitUntil([&] { return TablesMatch(source(), target()); }, 60s,
            "the stream arrives over TLS; sluice log:\n" + run.LogTail());
  // Every connection of the connector's user is TLS with its certificate, the walsender too.
  EXPECT_EQ(admin.QueryValue("SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING "
                             "(pid) WHERE a.usename = '" + user + "' AND a.backend_type = "
                             "'walsender' AND s.ssl AND s.client_dn = '/CN=" + user + "'"),
            "1");
  EXPECT_EQ(admin.QueryValue("SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING "
                             "(pid) WHERE a.usename = '" + user + "' AND NOT s.ssl"),
            "0");
  EXPECT_TRUE(run.Stop().Success()) << run.LogTail();

  // A one-shot sync into PostgreSQL and a verification read the source over TLS as well.
  const std::string target_db = CreateScratchPgDatabase("pgtls_dst");
  struct DropTarget {
    std::string db;
    ~DropTarget() { DropPgDatabase(db); }
  } drop_target{target_db};
  nlohmann::json sync = config;
  sync["name"] = "pgtls_sync";
  sync["sink.type"] = "postgres";
  sync["sink.url"] = PgClient(target_db).Url();
  sync.erase("sink.file.fsync");
  CommandResult synced = SluiceProcess::RunToCompletion("sync", sync, 120s);
  ASSERT_TRUE(synced.Success()) << synced.out << synced.err;
  CommandResult verified = SluiceProcess::RunToCompletion("verify", sync, 120s);
  EXPECT_EQ(verified.status.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("the target equals the source"), std::string::npos) << verified.out;
}

}  // namespace
}  // namespace sluice::itest
