// One chaos run over one path (source dialect -> target dialect) with the real sluice binary:
// scratch source and target servers, a TCP proxy in front of each, a steady write load, and
// faults injected at random points chosen from a fixed seed. Ends with the comparator.
#ifndef SLUICE_INTEGRATION_CHAOS_CHAOS_RUN_H_
#define SLUICE_INTEGRATION_CHAOS_CHAOS_RUN_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "integration/chaos/chaos_workload.h"
#include "integration/common/itest.h"
#include "integration/common/scratch_server.h"
#include "integration/common/tcp_proxy.h"

namespace sluice::itest::chaos {

enum class Fault {
  kKillInSnapshot,       // kill -9 of sluice while the snapshot runs
  kKillInStream,         // kill -9 of sluice while streaming
  kSourceCutInSnapshot,  // every source connection cut (mid-COPY)
  kSourceCutInStream,    // every source connection cut (mid-stream)
  kTargetCutInSnapshot,  // every target connection cut (mid-COPY into the target)
  kTargetCutInStream,
  kSourceStall,          // source connections stall 1-5 s, then resume or are cut
  kTargetStall,
  kSourceRestartClean,   // source server: clean shutdown and start
  kSourceRestartCrash,   // source server: crash (immediate shutdown / SIGKILL) and start
  kTargetOutage,         // target server down 30-60 s (other faults meanwhile)
  kCount,
};
std::string_view FaultName(Fault f);

// Knobs, from the environment (defaults are the `make test` budget):
//   SLUICE_CHAOS_SEED          seed of every random choice (printed; default fixed)
//   SLUICE_CHAOS_FAULTS        faults per path (default 22; at least 20 per path in make test)
//   SLUICE_CHAOS_OUTAGES       target outages per path (default 1)
//   SLUICE_CHAOS_OUTAGE_S      outage length, seconds: N or MIN-MAX (default 30)
//   SLUICE_CHAOS_ROWS          seed rows in items (default per path, sized for a snapshot of a
//                              few seconds)
struct Settings {
  uint64_t seed = 0;
  int faults = 22;
  int outages = 1;
  int outage_min_s = 30, outage_max_s = 30;
  int rows = 0;  // 0: the path's default
  static Settings FromEnv();
};

struct Path {
  std::string name;  // "pg_to_pg"
  Dialect source, target;
  int default_rows;
};

class ChaosRun {
 public:
  ChaosRun(Path path, Settings settings);
  ~ChaosRun();
  // The whole scenario; throws HarnessError (a test failure) on a lost or corrupted row, a
  // duplicate in the keyless table, a sluice that exits on its own, or one that does not
  // recover from a fault.
  void Run();

 private:
  void RunScenario();
  void SetUp();
  nlohmann::json Config() const;
  void SnapshotPhase();
  void StreamPhase();
  void Inject(Fault f);
  // Inject(f); a cut that found no open connection is not counted: a kill joins the plan.
  void InjectOrReplace(Fault f, std::vector<Fault>& plan);
  void TargetOutage(std::vector<Fault>& plan);
  void CutConnections(TcpProxy& proxy, Fault f);
  void Stall(TcpProxy& proxy, Fault f);
  void KillAndRestartSluice(Fault f);
  void RestartSource(Fault f);
  // kill -9 and restart sluice, cut or stall a proxy: the faults that fit inside an outage.
  static bool FitsInOutage(Fault f);

  void Record(Fault f);
  void ExpectAlive();
  bool SnapshotDone();
  std::optional<int64_t> TargetTick();
  int64_t SourceTick();
  // Waits until the target holds the source's current tick: the pipeline recovered. Every
  // fault injected so far counts as survived.
  void WaitForProgress(const std::string& after);
  void FinalCompare();
  void Report();
  void SleepMs(int min_ms, int max_ms);
  int Random(int min, int max);

  SqlResult SourceQuery(const std::string& sql) const;
  SqlResult TargetQuery(const std::string& sql) const;
  std::string TargetSchema() const;  // where the target keeps the tables ("" = default)

  Path path_;
  Settings settings_;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point started_;
  std::string db_;      // source database (and target database / schema)
  std::string target_db_;
  std::unique_ptr<ScratchServer> source_, target_;
  std::unique_ptr<TcpProxy> source_proxy_, target_proxy_;
  std::unique_ptr<Writer> writer_;
  std::optional<SluiceProcess> sluice_;
  std::array<int, static_cast<size_t>(Fault::kCount)> injected_{}, survived_{};
  std::vector<Fault> unconfirmed_;  // injected, not yet followed by progress
  bool extra_column_ = false;
  int64_t rows_compared_ = 0;
  std::vector<std::string> timeline_;
};

}  // namespace sluice::itest::chaos

#endif  // SLUICE_INTEGRATION_CHAOS_CHAOS_RUN_H_
