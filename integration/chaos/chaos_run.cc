#include "integration/chaos/chaos_run.h"

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>
#include <thread>

namespace sluice::itest::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 20261204;
// Source bandwidth per connection and direction while the snapshot runs (see SnapshotPhase).
constexpr int64_t kSnapshotBytesPerSecond = 3 << 20;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    throw HarnessError(std::string(name) + "=" + v + ": expected a number");
  }
}

}  // namespace

std::string_view FaultName(Fault f) {
  switch (f) {
    case Fault::kKillInSnapshot: return "kill -9 sluice during the snapshot";
    case Fault::kKillInStream: return "kill -9 sluice while streaming";
    case Fault::kSourceCutInSnapshot: return "source connections cut mid-COPY";
    case Fault::kSourceCutInStream: return "source connections cut mid-stream";
    case Fault::kTargetCutInSnapshot: return "target connections cut mid-COPY";
    case Fault::kTargetCutInStream: return "target connections cut mid-stream";
    case Fault::kSourceStall: return "source connections stalled";
    case Fault::kTargetStall: return "target connections stalled";
    case Fault::kSourceRestartClean: return "source server restarted (clean)";
    case Fault::kSourceRestartCrash: return "source server restarted (crash)";
    case Fault::kTargetOutage: return "target server down";
    case Fault::kCount: break;
  }
  return "?";
}

Settings Settings::FromEnv() {
  Settings s;
  const char* seed = std::getenv("SLUICE_CHAOS_SEED");
  s.seed = kDefaultSeed;
  if (seed != nullptr && *seed != '\0') {
    try {
      s.seed = std::stoull(seed);
    } catch (const std::exception&) {
      throw HarnessError(std::string("SLUICE_CHAOS_SEED=") + seed + ": expected a number");
    }
  }
  s.faults = EnvInt("SLUICE_CHAOS_FAULTS", 22);
  s.outages = EnvInt("SLUICE_CHAOS_OUTAGES", 1);
  s.rows = EnvInt("SLUICE_CHAOS_ROWS", 0);
  const char* outage = std::getenv("SLUICE_CHAOS_OUTAGE_S");
  std::string o = outage != nullptr && *outage != '\0' ? outage : "30";
  size_t dash = o.find('-');
  try {
    s.outage_min_s = std::stoi(o.substr(0, dash));
    s.outage_max_s = dash == std::string::npos ? s.outage_min_s : std::stoi(o.substr(dash + 1));
  } catch (const std::exception&) {
    throw HarnessError("SLUICE_CHAOS_OUTAGE_S=" + o + ": expected N or MIN-MAX seconds");
  }
  if (s.faults < 8 || s.outages < 1 || s.outage_min_s < 5 || s.outage_max_s < s.outage_min_s) {
    throw HarnessError("chaos settings: SLUICE_CHAOS_FAULTS >= 8, SLUICE_CHAOS_OUTAGES >= 1 and "
                       "SLUICE_CHAOS_OUTAGE_S >= 5 (MIN <= MAX) are needed");
  }
  return s;
}

ChaosRun::ChaosRun(Path path, Settings settings)
    : path_(std::move(path)), settings_(settings), rng_(settings.seed) {}

ChaosRun::~ChaosRun() {
  if (writer_) writer_->Stop();
  if (sluice_) sluice_->Kill();
}

int ChaosRun::Random(int min, int max) {
  return min + static_cast<int>(rng_() % static_cast<uint64_t>(max - min + 1));
}

void ChaosRun::SleepMs(int min_ms, int max_ms) {
  auto until = Clock::now() + std::chrono::milliseconds(Random(min_ms, max_ms));
  while (Clock::now() < until) {
    ExpectAlive();
    std::this_thread::sleep_for(std::min<Clock::duration>(100ms, until - Clock::now()));
  }
}

SqlResult ChaosRun::SourceQuery(const std::string& sql) const {
  if (path_.source == Dialect::kPostgres) {
    return static_cast<ScratchPostgres&>(*source_).Client(db_).TryQuery(sql);
  }
  return static_cast<ScratchMariadb&>(*source_).Client(db_).TryQuery(sql);
}

SqlResult ChaosRun::TargetQuery(const std::string& sql) const {
  if (path_.target == Dialect::kPostgres) {
    return static_cast<ScratchPostgres&>(*target_).Client(target_db_).TryQuery(sql);
  }
  return static_cast<ScratchMariadb&>(*target_).Client(target_db_).TryQuery(sql);
}

std::string ChaosRun::TargetSchema() const {
  // A MySQL source's database plays the schema's role in a PostgreSQL target.
  return path_.source == Dialect::kMariadb && path_.target == Dialect::kPostgres ? db_ : "";
}

void ChaosRun::SetUp() {
  started_ = Clock::now();
  db_ = UniqueName("chaos_" + path_.name);
  target_db_ = db_;
  auto make = [](Dialect d, const std::string& pg_conf) -> std::unique_ptr<ScratchServer> {
    if (d == Dialect::kPostgres) return std::make_unique<ScratchPostgres>(pg_conf);
    return std::make_unique<ScratchMariadb>();
  };
  // A fast shutdown waits until each walsender's client confirms the end of WAL, which sluice
  // cannot while the target is down: the walsender gives up after wal_sender_timeout.
  source_ = make(path_.source, "wal_sender_timeout = '10s'");
  target_ = make(path_.target, "");
  const int rows = settings_.rows > 0 ? settings_.rows : path_.default_rows;
  if (path_.source == Dialect::kPostgres) {
    static_cast<ScratchPostgres&>(*source_).Client().Exec("CREATE DATABASE " + db_);
  } else {
    static_cast<ScratchMariadb&>(*source_).Client().Exec("CREATE DATABASE `" + db_ +
                                                          "` CHARACTER SET utf8mb4");
  }
  SqlResult seeded = SourceQuery(SchemaSql(path_.source) + SeedSql(path_.source, rows, 100));
  if (!seeded.ok) throw HarnessError("seeding the source: " + seeded.error);
  if (path_.target == Dialect::kPostgres) {
    static_cast<ScratchPostgres&>(*target_).Client().Exec("CREATE DATABASE " + target_db_);
  } else {
    static_cast<ScratchMariadb&>(*target_).Client().Exec("CREATE DATABASE `" + target_db_ +
                                                          "` CHARACTER SET utf8mb4");
  }
  source_proxy_ = std::make_unique<TcpProxy>(source_->port());
  target_proxy_ = std::make_unique<TcpProxy>(target_->port());
  writer_ = std::make_unique<Writer>(
      path_.source, [this](const std::string& sql) { return SourceQuery(sql); }, rows,
      settings_.seed ^ 0x5eed);
  std::cout << "[chaos] " << path_.name << ": seed " << settings_.seed
            << " (SLUICE_CHAOS_SEED overrides), " << settings_.faults << " faults, "
            << settings_.outages << " target outage(s) of " << settings_.outage_min_s << "-"
            << settings_.outage_max_s << " s, " << rows << " seed rows; source port "
            << source_->port() << " via proxy " << source_proxy_->port() << ", target port "
            << target_->port() << " via proxy " << target_proxy_->port() << std::endl;
}

nlohmann::json ChaosRun::Config() const {
  nlohmann::json c = {{"name", "chaos_" + path_.name},
                      {"database.hostname", "127.0.0.1"},
                      {"database.port", std::to_string(source_proxy_->port())},
                      {"connect.timeout.ms", "3000"},
                      {"sink.batch.size", "2000"},
                      {"max.batch.size", "1000"},
                      {"sink.batch.ms", "200"}};
  if (path_.source == Dialect::kPostgres) {
    c.update({{"connector.class", "postgres"},
              {"database.user", "postgres"},
              {"database.dbname", db_},
              {"slot.name", "chaos_slot"},
              {"publication.name", "chaos_pub"},
              {"status.update.interval.ms", "1000"}});
  } else {
    c.update({{"connector.class", "mysql"},
              {"database.user", kPasswordUser},
              {"database.password", kTestPassword},
              {"database.server.id", std::to_string(4000 + settings_.seed % 100000)},
              {"database.include.list", db_},
              {"heartbeat.interval.ms", "500"}});
  }
  const std::string at = "@127.0.0.1:" + std::to_string(target_proxy_->port()) + "/" + target_db_;
  if (path_.target == Dialect::kPostgres) {
    c.update({{"sink.type", "postgres"}, {"sink.url", "postgresql://postgres" + at}});
  } else {
    c.update({{"sink.type", "mysql"}, {"sink.url", "mysql://root" + at}});
  }
  return c;
}

void ChaosRun::Record(Fault f) {
  ++injected_[static_cast<size_t>(f)];
  unconfirmed_.push_back(f);
  const double t = std::chrono::duration<double>(Clock::now() - started_).count();
  std::ostringstream line;
  line << "[chaos] " << path_.name << " t=" << std::fixed << std::setprecision(1) << t
       << "s fault " << std::accumulate(injected_.begin(), injected_.end(), 0) << ": "
       << FaultName(f);
  timeline_.push_back(line.str());
  std::cout << line.str() << std::endl;
}

void ChaosRun::ExpectAlive() {
  if (!sluice_) return;
  std::optional<ExitStatus> st = sluice_->WaitFor(0ms);
  if (st) {
    throw HarnessError("sluice exited on its own (" + st->Describe() + ") in " + path_.name +
                       " after fault " +
                       std::to_string(std::accumulate(injected_.begin(), injected_.end(), 0)) +
                       "; its log:\n" + sluice_->LogTail(80));
  }
}

bool ChaosRun::SnapshotDone() {
  SqlResult r = TargetQuery("SELECT position FROM sluice_offsets WHERE connector = 'chaos_" +
                            path_.name + "'");
  if (!r.ok || r.rows.empty() || !r.rows[0][0]) return false;
  return r.rows[0][0]->find("running") == std::string::npos;
}

int64_t ChaosRun::SourceTick() {
  for (int attempt = 0;; ++attempt) {
    SqlResult r = SourceQuery(SelectTick(path_.source, ""));
    if (r.ok && !r.rows.empty() && r.rows[0][0]) return std::stoll(*r.rows[0][0]);
    if (attempt > 100) throw HarnessError("cannot read the source's tick: " + r.error);
    std::this_thread::sleep_for(300ms);
  }
}

std::optional<int64_t> ChaosRun::TargetTick() {
  SqlResult r = TargetQuery(SelectTick(path_.target, TargetSchema()));
  if (!r.ok || r.rows.empty() || !r.rows[0][0]) return std::nullopt;
  return std::stoll(*r.rows[0][0]);
}

void ChaosRun::WaitForProgress(const std::string& after) {
  const int64_t tick = SourceTick();
  try {
    WaitUntil(
        [&] {
          ExpectAlive();
          std::optional<int64_t> t = TargetTick();
          return t.has_value() && *t >= tick;
        },
        240s, "the target reaches the source's round " + std::to_string(tick) + " after " + after,
        250ms);
  } catch (const HarnessError& e) {
    throw HarnessError(std::string(e.what()) + "\nsluice log:\n" + sluice_->LogTail(80));
  }
  for (Fault f : unconfirmed_) ++survived_[static_cast<size_t>(f)];
  unconfirmed_.clear();
}

void ChaosRun::KillAndRestartSluice(Fault f) {
  ExpectAlive();
  sluice_->Kill();
  Record(f);
  std::this_thread::sleep_for(std::chrono::milliseconds(Random(0, 700)));
  sluice_->Restart();
}

void ChaosRun::CutConnections(TcpProxy& proxy, Fault f) {
  // Sluice may be between connections (reconnecting after the last fault): wait for some.
  auto deadline = Clock::now() + 10s;
  while (proxy.open_connections() == 0 && Clock::now() < deadline) SleepMs(50, 50);
  int cut = proxy.DropAll();
  if (cut == 0) {
    std::cout << "[chaos] " << path_.name << ": no open connection to cut for '" << FaultName(f)
              << "'; not counted" << std::endl;
    return;
  }
  Record(f);
}

void ChaosRun::Stall(TcpProxy& proxy, Fault f) {
  proxy.Stall();
  Record(f);
  SleepMs(1000, 5000);
  // Half of the stalls end like a half-open connection that the network finally resets.
  if (Random(0, 1) == 1) proxy.DropAll();
  proxy.Resume();
}

void ChaosRun::RestartSource(Fault f) {
  source_->Stop(f == Fault::kSourceRestartCrash ? ServerStop::kCrash : ServerStop::kClean);
  Record(f);
  SleepMs(0, 1000);
  source_->Start();
  source_proxy_->SetUpstreamPort(source_->port());
}

bool ChaosRun::FitsInOutage(Fault f) {
  return f == Fault::kKillInStream || f == Fault::kSourceCutInStream ||
         f == Fault::kSourceStall || f == Fault::kSourceRestartClean ||
         f == Fault::kSourceRestartCrash;
}

void ChaosRun::Inject(Fault f) {
  switch (f) {
    case Fault::kKillInSnapshot:
    case Fault::kKillInStream:
      KillAndRestartSluice(f);
      break;
    case Fault::kSourceCutInSnapshot:
    case Fault::kSourceCutInStream:
      CutConnections(*source_proxy_, f);
      break;
    case Fault::kTargetCutInSnapshot:
    case Fault::kTargetCutInStream:
      CutConnections(*target_proxy_, f);
      break;
    case Fault::kSourceStall:
      Stall(*source_proxy_, f);
      break;
    case Fault::kTargetStall:
      Stall(*target_proxy_, f);
      break;
    case Fault::kSourceRestartClean:
    case Fault::kSourceRestartCrash:
      RestartSource(f);
      break;
    case Fault::kTargetOutage:
    case Fault::kCount:
      throw HarnessError("Inject: not a single fault");
  }
}

void ChaosRun::InjectOrReplace(Fault f, std::vector<Fault>& plan) {
  const int before = std::accumulate(injected_.begin(), injected_.end(), 0);
  Inject(f);
  if (std::accumulate(injected_.begin(), injected_.end(), 0) == before) {
    plan.push_back(Fault::kKillInStream);  // nothing was open to cut: a kill later instead
  }
}

void ChaosRun::TargetOutage(std::vector<Fault>& plan) {
  const int seconds = Random(settings_.outage_min_s, settings_.outage_max_s);
  const bool crash = Random(0, 1) == 1;
  const auto down_at = Clock::now();
  target_->Stop(crash ? ServerStop::kCrash : ServerStop::kClean);
  Record(Fault::kTargetOutage);
  std::cout << "[chaos] " << path_.name << ": target " << (crash ? "crashed" : "shut down")
            << " for " << seconds << " s" << std::endl;
  // Other faults while it is down: sluice killed and restarted, the source restarted or cut.
  std::vector<Fault> during;
  for (auto it = plan.begin(); it != plan.end() && during.size() < 3;) {
    if (FitsInOutage(*it)) {
      during.push_back(*it);
      it = plan.erase(it);
    } else {
      ++it;
    }
  }
  const int slot_ms = (seconds - 4) * 1000 / static_cast<int>(during.size() + 1);
  for (size_t i = 0; i < during.size(); ++i) {
    auto at = down_at + 2s + std::chrono::milliseconds(slot_ms * static_cast<int>(i) +
                                                       Random(0, slot_ms / 2));
    while (Clock::now() < at) SleepMs(100, 100);
    InjectOrReplace(during[i], plan);
  }
  while (Clock::now() < down_at + std::chrono::seconds(seconds)) SleepMs(100, 100);
  target_->Start();
  target_proxy_->SetUpstreamPort(target_->port());
  WaitForProgress("the target came back");
}

void ChaosRun::SnapshotPhase() {
  // A slow network to the source during the snapshot: a binary COPY of the seed takes about
  // 100 ms on loopback, too short for faults to land in it.
  source_proxy_->SetRateLimit(kSnapshotBytesPerSecond);
  const int count = std::max(3, settings_.faults / 7);
  std::vector<Fault> kinds;
  const Fault cycle[] = {Fault::kKillInSnapshot, Fault::kSourceCutInSnapshot,
                         Fault::kTargetCutInSnapshot};
  while (static_cast<int>(kinds.size()) < count) kinds.insert(kinds.end(), cycle, cycle + 3);
  kinds.resize(static_cast<size_t>(count));
  std::shuffle(kinds.begin() + 1, kinds.end(), rng_);  // a kill first, the rest in any order
  for (Fault f : kinds) {
    SleepMs(500, 2500);
    if (SnapshotDone()) break;
    Inject(f);
  }
  WaitUntil(
      [&] {
        ExpectAlive();
        return SnapshotDone();
      },
      300s, "the snapshot of " + path_.name + " completes");
  source_proxy_->SetRateLimit(0);
  WaitForProgress("the snapshot");
  std::cout << "[chaos] " << path_.name << ": snapshot done" << std::endl;
}

void ChaosRun::StreamPhase() {
  const int injected = std::accumulate(injected_.begin(), injected_.end(), 0);
  const int remaining = std::max(0, settings_.faults - injected);
  std::vector<Fault> plan(static_cast<size_t>(settings_.outages), Fault::kTargetOutage);
  const std::vector<Fault> kinds = {Fault::kKillInStream,       Fault::kSourceCutInStream,
                                    Fault::kTargetCutInStream,  Fault::kSourceStall,
                                    Fault::kTargetStall,        Fault::kSourceRestartClean,
                                    Fault::kSourceRestartCrash};
  plan.insert(plan.end(), kinds.begin(), kinds.end());
  while (static_cast<int>(plan.size()) < remaining) plan.push_back(kinds[rng_() % kinds.size()]);
  std::shuffle(plan.begin(), plan.end(), rng_);
  // Outages in the first half, so that faults remain to inject while the target is down.
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i] != Fault::kTargetOutage || i <= plan.size() / 2) continue;
    std::swap(plan[i], plan[rng_() % (plan.size() / 2 + 1)]);
  }
  const size_t ddl_at = plan.size() / 2;
  size_t done = 0;
  while (!plan.empty()) {
    if (done == ddl_at && !extra_column_) {
      writer_->AddColumnAndWait();
      extra_column_ = true;
      std::cout << "[chaos] " << path_.name << ": ADD COLUMN extra committed at the source"
                << std::endl;
    }
    Fault f = plan.front();
    plan.erase(plan.begin());
    ++done;
    if (f == Fault::kTargetOutage) {
      TargetOutage(plan);
      continue;
    }
    InjectOrReplace(f, plan);
    // Some faults come in bursts (the next before the pipeline recovered from the last); the
    // others wait for the target to catch up first, which proves the recovery.
    if (Random(0, 9) < 4) {
      SleepMs(200, 1000);
    } else {
      WaitForProgress(std::string(FaultName(f)));
      SleepMs(300, 1500);
    }
  }
  if (!extra_column_) {
    writer_->AddColumnAndWait();
    extra_column_ = true;
  }
}

void ChaosRun::FinalCompare() {
  writer_->Stop();
  WaitForProgress("the load stopped");
  const std::string schema = TargetSchema();
  struct Pair {
    std::string name, source, target;
  };
  const std::vector<Pair> pairs = {
      {"items", SelectItems(path_.source, "", extra_column_),
       SelectItems(path_.target, schema, extra_column_)},
      {"nokey", SelectNokey(path_.source, ""), SelectNokey(path_.target, schema)},
      {"tick", SelectTick(path_.source, ""), SelectTick(path_.target, schema)},
  };
  auto all_match = [&]() -> ::testing::AssertionResult {
    ExpectAlive();
    for (const Pair& p : pairs) {
      SqlResult s = SourceQuery(p.source), t = TargetQuery(p.target);
      if (!s.ok) throw HarnessError("source " + p.name + ": " + s.error);
      if (!t.ok) return ::testing::AssertionFailure() << "target " << p.name << ": " << t.error;
      auto m = TablesMatch(s.rows, t.rows);
      if (!m) return m << " (table " << p.name << ")";
    }
    return ::testing::AssertionSuccess();
  };
  try {
    WaitUntil(all_match, 240s, "target equals source in " + path_.name, 1s);
  } catch (const HarnessError& e) {
    throw HarnessError(std::string(e.what()) + "\nsluice log:\n" + sluice_->LogTail(80));
  }
  rows_compared_ = 0;
  for (const Pair& p : pairs) {
    SqlResult s = SourceQuery(p.source);
    SqlResult t = TargetQuery(p.target);
    if (!s.ok || !t.ok) throw HarnessError("re-reading " + p.name + ": " + s.error + t.error);
    ExpectTablesEqual(s.rows, t.rows);
    rows_compared_ += static_cast<int64_t>(s.rows.size());
    std::cout << "[chaos] " << path_.name << ": " << p.name << " equal, " << s.rows.size()
              << " rows (checksum " << RowsChecksum(s.rows) << ")" << std::endl;
  }
  SqlResult dups = TargetQuery(SelectNokeyDuplicates(path_.target, schema));
  if (!dups.ok) throw HarnessError("duplicate check: " + dups.error);
  EXPECT_TRUE(dups.rows.empty()) << "the keyless table holds duplicate rows in the target, e.g. "
                                 << RowToString(dups.rows.front());
  SqlResult nokey = SourceQuery(SelectNokey(path_.source, ""));
  EXPECT_GT(nokey.rows.size(), 0u) << "the keyless table got no rows: the test proved nothing";
  // A clean stop after all this commits and exits 0.
  ExitStatus st = sluice_->Stop();
  EXPECT_TRUE(st.Success()) << "sluice did not stop cleanly: " << st.Describe() << "\n"
                            << sluice_->LogTail(40);
  sluice_.reset();
}

void ChaosRun::Report() {
  const double wall = std::chrono::duration<double>(Clock::now() - started_).count();
  const int injected = std::accumulate(injected_.begin(), injected_.end(), 0);
  const int survived = std::accumulate(survived_.begin(), survived_.end(), 0);
  std::ostringstream out;
  out << "[chaos] " << path_.name << " summary: seed " << settings_.seed << ", " << injected
      << " faults injected, " << survived << " survived, " << rows_compared_
      << " rows compared, writer " << writer_->rounds_ok() << " rounds committed / "
      << writer_->rounds_failed() << " failed, " << std::fixed << std::setprecision(1) << wall
      << " s\n";
  for (size_t i = 0; i < injected_.size(); ++i) {
    if (injected_[i] == 0) continue;
    out << "[chaos]   " << std::left << std::setw(40) << FaultName(static_cast<Fault>(i))
        << " injected " << std::setw(4) << injected_[i] << " survived " << survived_[i] << "\n";
  }
  std::cout << out.str() << std::flush;
  ::testing::Test::RecordProperty("faults_injected", injected);
  ::testing::Test::RecordProperty("faults_survived", survived);
  ::testing::Test::RecordProperty("rows_compared", static_cast<int>(rows_compared_));
  EXPECT_EQ(survived, injected);
  EXPECT_GE(injected, std::min(settings_.faults, 20))
      << "fewer faults landed than planned (connections that were not open count as none)";
}

void ChaosRun::Run() {
  try {
    RunScenario();
  } catch (const std::exception& e) {
    // Recorded before the servers' and sluice's directories go: a failed test keeps them.
    ADD_FAILURE() << e.what();
    if (writer_) writer_->Stop();
    if (sluice_) sluice_->Kill();
  }
}

void ChaosRun::RunScenario() {
  SetUp();
  writer_->Start();
  sluice_.emplace(SluiceProcess::Run(Config()));
  SnapshotPhase();
  writer_->EnableKeyless();
  StreamPhase();
  FinalCompare();
  // Every fault was followed by progress and the final comparison.
  Report();
}

}  // namespace sluice::itest::chaos
