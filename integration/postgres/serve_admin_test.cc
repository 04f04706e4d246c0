// `sluice serve` administering PostgreSQL connectors against a real server: slot and
// publication names that must not collide, offsets PATCH validation, DELETE dropping (or
// keeping) the slot and publication, and syncs that leave nothing behind. Each test reads the
// server's own catalogs (pg_replication_slots, pg_publication) to check what is there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class ServePgAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    source_db_ = CreateScratchPgDatabase("adm_src");
    PgClient(source_db_).Exec(R"(
      CREATE TABLE public.eu_dash (id int PRIMARY KEY, v text);
      CREATE TABLE public.eu_under (id int PRIMARY KEY, v text);
      INSERT INTO public.eu_dash SELECT g, 'dash-' || g FROM generate_series(1, 10) g;
      INSERT INTO public.eu_under SELECT g, 'under-' || g FROM generate_series(1, 20) g;)");
  }

  void TearDown() override {
    // Slots outlive databases and hold WAL: never leave one behind, whatever the test did.
    PgClient("postgres").TryQuery(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE (database = '" +
        source_db_ + "' OR slot_name LIKE '" + source_db_ + "\\_%') AND NOT active");
  }

  json Config(const std::string& name, const std::string& table, const std::string& target_db,
              json extra = json::object()) const {
    PgClient source(source_db_);
    json config = {{"connector.class", "postgres"},
                   {"database.hostname", source.host()},
                   {"database.port", std::to_string(source.port())},
                   {"database.user", source.user()},
                   {"database.dbname", source_db_},
                   {"table.include.list", "public\\." + table},
                   {"sink.type", "postgres"},
                   {"sink.url", PgClient(target_db).Url()},
                   {"sink.batch.ms", "50"},
                   {"status.update.interval.ms", "200"}};
    config.update(extra);
    return {{"name", name}, {"config", config}};
  }

  SqlRows Slots() const {
    return PgClient("postgres").Query("SELECT slot_name FROM pg_replication_slots WHERE database = '" +
                                      source_db_ + "' ORDER BY 1");
  }
  SqlRows Publications() const {
    return PgClient(source_db_).Query("SELECT pubname FROM pg_publication ORDER BY 1");
  }
  std::string ConfirmedFlush(const std::string& slot) const {
    return PgClient("postgres").QueryValue(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot +
        "'");
  }

  void WaitRows(const std::string& db, const std::string& table, int count) {
    WaitUntil([&] {
      SqlResult r = PgClient(db).TryQuery("SELECT count(*) FROM public." + table);
      return r.ok && !r.rows.empty() && r.rows[0][0] == std::to_string(count);
    }, std::chrono::seconds(60), db + "." + table + " holds " + std::to_string(count) + " rows");
  }

  // Waits until the connector has committed a streaming position, then stops it.
  json StopWithOffset(ServeProcess& serve, const std::string& name) {
    RestClient& api = serve.client();
    WaitUntil([&] {
      json o = api.Expect(200, "GET", "/connectors/" + name + "/offsets");
      return o["offsets"].size() == 1 && !o["offsets"][0]["offset"].contains("snapshot");
    }, std::chrono::seconds(60), name + " commits a streaming offset");
    serve.StopAndSettle(name);
    return api.Expect(200, "GET", "/connectors/" + name + "/offsets");
  }

  std::string source_db_;
};

TEST_F(ServePgAdmin, NamesThatSanitizeAlikeGetTheirOwnSlotsAndStreamTheirOwnRows) {
  std::string dash_db = CreateScratchPgDatabase("adm_dash");
  std::string under_db = CreateScratchPgDatabase("adm_under");
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", Config("orders-eu", "eu_dash", dash_db).dump());
  api.Expect(201, "POST", "/connectors", Config("orders_eu", "eu_under", under_db).dump());
  WaitRows(dash_db, "eu_dash", 10);
  WaitRows(under_db, "eu_under", 20);
  PgClient(source_db_).Exec(
      "INSERT INTO public.eu_dash SELECT g, 'dash-' || g FROM generate_series(11, 15) g;"
      "INSERT INTO public.eu_under SELECT g, 'under-' || g FROM generate_series(21, 28) g;");
  WaitRows(dash_db, "eu_dash", 15);
  WaitRows(under_db, "eu_under", 28);
  EXPECT_EQ(PgClient(dash_db).QueryValue("SELECT count(*) FROM public.eu_dash WHERE v LIKE 'dash-%'"),
            "15");
  EXPECT_EQ(PgClient(under_db).QueryValue("SELECT count(*) FROM public.eu_under WHERE v LIKE 'under-%'"),
            "28");
  SqlRows slots = Slots();
  ASSERT_EQ(slots.size(), 2u);
  // The plain name keeps the slot it always had; the altered one gets a hash.
  EXPECT_EQ(slots[0][0], "sluice_orders_eu");
  EXPECT_THAT(slots[1][0].value_or(""), ::testing::MatchesRegex("sluice_orders_eu_[0-9a-f]{8}"));
  EXPECT_EQ(Publications().size(), 2u);

  // A third connector naming orders_eu's slot explicitly is refused, naming the owner.
  auto clash = api.Call("POST", "/connectors",
                        Config("thief", "eu_under", under_db, {{"slot.name", "sluice_orders_eu"}})
                            .dump());
  EXPECT_EQ(clash.status, 400) << clash.body;
  EXPECT_THAT(clash.body, HasSubstr("orders_eu"));
  EXPECT_EQ(api.Call("GET", "/connectors/thief").status, 404);
  EXPECT_EQ(serve.State("orders-eu"), "RUNNING");
  EXPECT_EQ(serve.State("orders_eu"), "RUNNING");
}

// A connector made by an earlier version streams from `sluice_legacy_x` (the old derivation of
// "legacy-x"). Its config names no slot (emulated here by removing the explicit names after the
// slot exists): it keeps streaming from the slot and publication its stored position belongs to,
// and no new slot appears.
TEST_F(ServePgAdmin, AConnectorKeepsTheSlotItsStoredPositionNames) {
  std::string target_db = CreateScratchPgDatabase("adm_legacy");
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors",
             Config("legacy-x", "eu_under", target_db,
                    {{"slot.name", "sluice_legacy_x"}, {"publication.name", "sluice_pub_legacy_x"}})
                 .dump());
  WaitRows(target_db, "eu_under", 20);
  StopWithOffset(serve, "legacy-x");
  api.Expect(200, "PATCH", "/connectors/legacy-x/config",
             R"({"slot.name": null, "publication.name": null})");
  PgClient(source_db_).Exec("INSERT INTO public.eu_under VALUES (21, 'while stopped')");
  api.Call("PUT", "/connectors/legacy-x/resume");
  WaitRows(target_db, "eu_under", 21);
  PgClient(source_db_).Exec("INSERT INTO public.eu_under VALUES (22, 'after')");
  WaitRows(target_db, "eu_under", 22);
  EXPECT_EQ(Slots(), (SqlRows{{"sluice_legacy_x"}}));
  EXPECT_EQ(Publications(), (SqlRows{{"sluice_pub_legacy_x"}}));
}

TEST_F(ServePgAdmin, OffsetsPatchRefusesABadPositionAndKeepsTheSlotWhereItWas) {
  std::string target_db = CreateScratchPgDatabase("adm_off");
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", Config("offs", "eu_under", target_db).dump());
  WaitRows(target_db, "eu_under", 20);
  json stored = StopWithOffset(serve, "offs");
  const std::string slot = "sluice_offs";
  const std::string before = ConfirmedFlush(slot);
  // More WAL, so that "forward" positions exist below the server's current one.
  PgClient(source_db_).Exec("INSERT INTO public.eu_dash SELECT g, 'x' FROM generate_series(100, 200) g");
  const std::string current = PgClient(source_db_).QueryValue("SELECT pg_current_wal_lsn()::text");

  auto patch = [&](const json& position, json extra = json::object()) {
    json body = {{"offsets", {{{"partition", {{"server", "offs"}}},
                               {"offset", {{"position", position.dump()}}}}}}};
    body.update(extra);
    return api.Call("PATCH", "/connectors/offs/offsets", body.dump());
  };
  auto beyond = patch({{"lsn", "FFFFFFFF/FFFFFFFF"}, {"slot", slot}});
  EXPECT_EQ(beyond.status, 400) << beyond.body;
  EXPECT_THAT(beyond.body, HasSubstr("beyond the server's current WAL position"));
  auto foreign = patch({{"lsn", before}, {"slot", "other"}});
  EXPECT_EQ(foreign.status, 400) << foreign.body;
  EXPECT_THAT(foreign.body, HasSubstr("streams from slot 'sluice_offs'"));
  auto partition = api.Call("PATCH", "/connectors/offs/offsets",
                            R"({"offsets":[{"partition":{"server":"other"},"offset":{"position":"x"}}]})");
  EXPECT_EQ(partition.status, 400) << partition.body;
  auto junk = patch({{"lsn", "1/2"}, {"slot", slot}, {"extra", "1"}});
  EXPECT_EQ(junk.status, 400) << junk.body;
  auto unparsable = patch({{"lsn", "not-an-lsn"}, {"slot", slot}});
  EXPECT_EQ(unparsable.status, 400) << unparsable.body;
  auto forward = patch({{"lsn", current}, {"slot", slot}});
  EXPECT_EQ(forward.status, 400) << forward.body;
  EXPECT_THAT(forward.body, HasSubstr("irreversible"));
  EXPECT_THAT(forward.body, HasSubstr("\\\"force\\\": true"));

  EXPECT_EQ(ConfirmedFlush(slot), before) << "a refused PATCH moved the slot";
  EXPECT_EQ(api.Expect(200, "GET", "/connectors/offs/offsets"), stored);

  // Resumed, it still streams from where it was: nothing was skipped.
  api.Call("PUT", "/connectors/offs/resume");
  PgClient(source_db_).Exec("INSERT INTO public.eu_under VALUES (21, 'after')");
  WaitRows(target_db, "eu_under", 21);
  stored = StopWithOffset(serve, "offs");

  // With force, a forward move within the server's WAL is accepted.
  const std::string now = PgClient(source_db_).QueryValue("SELECT pg_current_wal_lsn()::text");
  auto forced = patch({{"lsn", now}, {"slot", slot}}, {{"force", true}});
  EXPECT_EQ(forced.status, 200) << forced.body;
  json after = api.Expect(200, "GET", "/connectors/offs/offsets");
  // GET answers Debezium's shape: the LSN as a number.
  const auto slash = now.find('/');
  const uint64_t now_lsn = (std::stoull(now.substr(0, slash), nullptr, 16) << 32) |
                           std::stoull(now.substr(slash + 1), nullptr, 16);
  EXPECT_EQ(after["offsets"][0]["offset"]["lsn_commit"], now_lsn) << after.dump();
}

TEST_F(ServePgAdmin, DeleteDropsTheSlotAndPublicationUnlessToldToKeepThem) {
  std::string drop_db = CreateScratchPgDatabase("adm_del");
  std::string keep_db = CreateScratchPgDatabase("adm_keep");
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", Config("dropme", "eu_dash", drop_db).dump());
  api.Expect(201, "POST", "/connectors",
             Config("keepme", "eu_under", keep_db, {{"slot.drop.on.delete", "false"}}).dump());
  WaitRows(drop_db, "eu_dash", 10);
  WaitRows(keep_db, "eu_under", 20);
  ASSERT_EQ(Slots(), (SqlRows{{"sluice_dropme"}, {"sluice_keepme"}}));
  ASSERT_EQ(Publications(), (SqlRows{{"sluice_pub_dropme"}, {"sluice_pub_keepme"}}));

  EXPECT_EQ(api.Call("DELETE", "/connectors/dropme").status, 204);
  EXPECT_EQ(Slots(), (SqlRows{{"sluice_keepme"}}));
  EXPECT_EQ(Publications(), (SqlRows{{"sluice_pub_keepme"}}));

  EXPECT_EQ(api.Call("DELETE", "/connectors/keepme").status, 204);
  EXPECT_EQ(Slots(), (SqlRows{{"sluice_keepme"}}));
  EXPECT_EQ(Publications(), (SqlRows{{"sluice_pub_keepme"}}));
  EXPECT_THAT(serve.process().LogTail(200), HasSubstr("pg_drop_replication_slot('sluice_keepme')"));
}

TEST_F(ServePgAdmin, DeleteKeepsAPublicationSluiceDidNotCreate) {
  std::string target_db = CreateScratchPgDatabase("adm_own");
  PgClient(source_db_).Exec("CREATE PUBLICATION users_pub FOR TABLE public.eu_dash");
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors",
             Config("ownpub", "eu_dash", target_db, {{"publication.name", "users_pub"}}).dump());
  WaitRows(target_db, "eu_dash", 10);
  EXPECT_EQ(api.Call("DELETE", "/connectors/ownpub").status, 204);
  EXPECT_EQ(Slots(), SqlRows{});
  EXPECT_EQ(Publications(), (SqlRows{{"users_pub"}}));
}

TEST_F(ServePgAdmin, DeleteOfAConnectorWhoseSourceIsDownStillRemovesItAndSaysWhatIsLeft) {
  ServeProcess serve;
  RestClient& api = serve.client();
  json config = Config("unreachable", "eu_dash", source_db_);
  config["config"]["database.port"] = std::to_string(FreeLoopbackPort());
  config["config"]["connect.timeout.ms"] = "2000";
  api.Expect(201, "POST", "/connectors", config.dump());
  EXPECT_EQ(api.Call("DELETE", "/connectors/unreachable").status, 204);
  EXPECT_EQ(api.Call("GET", "/connectors/unreachable").status, 404);
  std::string log = serve.process().LogTail(200);
  EXPECT_THAT(log, HasSubstr("left behind"));
  EXPECT_THAT(log, HasSubstr("pg_drop_replication_slot('sluice_unreachable')"));
  EXPECT_THAT(log, HasSubstr("DROP PUBLICATION IF EXISTS \"sluice_pub_unreachable\""));
}

// Slots that are not a Sluice connector's: a physical slot (as a standby uses) and a logical
// slot of plugin test_decoding. A connector whose slot.name names one refuses to start, saying
// what the slot is, and neither slot.drop.on.stop, an offsets PATCH nor DELETE touches it.
TEST_F(ServePgAdmin, ForeignSlotsAreRefusedAndNeverDropped) {
  const std::string physical = source_db_ + "_phys";
  const std::string decoding = source_db_ + "_td";
  PgClient server("postgres");
  server.Exec("SELECT pg_create_physical_replication_slot('" + physical + "')");
  PgClient(source_db_).Exec("SELECT pg_create_logical_replication_slot('" + decoding +
                            "', 'test_decoding')");
  auto exists = [&](const std::string& slot) {
    return server.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                             slot + "'") == "1";
  };
  std::string target_db = CreateScratchPgDatabase("adm_foreign");
  ServeProcess serve;
  RestClient& api = serve.client();
  struct Case {
    std::string connector, slot, what;
  };
  for (const Case& c : {Case{"phys", physical, "is a physical replication slot"},
                        Case{"td", decoding, "plugin 'test_decoding', not pgoutput"}}) {
    SCOPED_TRACE(c.connector);
    api.Expect(201, "POST", "/connectors",
               Config(c.connector, "eu_dash", target_db,
                      {{"slot.name", c.slot}, {"slot.drop.on.stop", "true"}})
                   .dump());
    serve.WaitForState(c.connector, "FAILED");
    json status = api.Expect(200, "GET", "/connectors/" + c.connector + "/status");
    const std::string trace = status.dump();  // the connector's and the task's trace
    EXPECT_THAT(trace, HasSubstr("'" + c.slot + "' " ));
    EXPECT_THAT(trace, HasSubstr(c.what));
    EXPECT_THAT(trace, HasSubstr("SELECT pg_drop_replication_slot('" + c.slot + "')"));

    serve.StopAndSettle(c.connector);
    EXPECT_TRUE(exists(c.slot)) << "slot.drop.on.stop dropped " << c.slot;
    const std::string lsn = PgClient(source_db_).QueryValue("SELECT pg_current_wal_lsn()::text");
    json body = {{"offsets", {{{"partition", {{"server", c.connector}}},
                               {"offset", {{"position", json{{"lsn", lsn}, {"slot", c.slot}}.dump()}}}}}}};
    auto patched = api.Call("PATCH", "/connectors/" + c.connector + "/offsets", body.dump());
    EXPECT_EQ(patched.status, 400) << patched.body;
    EXPECT_THAT(patched.body, HasSubstr(c.what));

    EXPECT_EQ(api.Call("DELETE", "/connectors/" + c.connector).status, 204);
    EXPECT_TRUE(exists(c.slot)) << "DELETE dropped " << c.slot;
    EXPECT_THAT(serve.process().LogTail(200), HasSubstr("left replication slot '" + c.slot + "'"));
  }
  server.Exec("SELECT pg_drop_replication_slot('" + physical + "')");
  server.Exec("SELECT pg_drop_replication_slot('" + decoding + "')");
  EXPECT_EQ(Slots(), SqlRows{}) << "a connector created a slot of its own";
}

TEST_F(ServePgAdmin, SyncsLeaveNoPublicationAndNoMetricSeries) {
  std::string target_db = CreateScratchPgDatabase("adm_sync");
  ServeProcess serve;
  RestClient& api = serve.client();
  json body = Config("", "eu_under", target_db);
  body.erase("name");
  std::string id = api.Expect(201, "POST", "/syncs", body.dump())["id"];
  WaitUntil([&] {
    std::string state = api.Expect(200, "GET", "/syncs/" + id)["state"];
    if (state == "FAILED") throw HarnessError("sync failed");
    return state == "SUCCEEDED";
  }, std::chrono::seconds(60), "the sync succeeds");
  EXPECT_EQ(Publications(), SqlRows{});
  EXPECT_EQ(Slots(), SqlRows{});
  auto metrics = api.Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, ::testing::Not(HasSubstr(id)));

  // `sluice sync` on the command line too.
  json cli = Config("cli_sync", "eu_dash", CreateScratchPgDatabase("adm_cli"));
  CommandResult r = SluiceProcess::RunToCompletion("sync", cli, std::chrono::seconds(120));
  ASSERT_TRUE(r.Success()) << r.status.Describe() << "\n" << r.err;
  EXPECT_EQ(Publications(), SqlRows{});
}

}  // namespace
}  // namespace sluice::itest
