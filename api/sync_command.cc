// `sluice sync CONFIG.json`: a one-shot full sync in the foreground with progress.
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "api/commands.h"
#include "api/plugins.h"
#include "api/progress_view.h"
#include "api/stop_signals.h"
#include "api/sync_defaults.h"
#include "api/supervisor.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/progress.h"
#include "core/snapshot_mode.h"

namespace sluice::api {

namespace {

int TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 100;
}

// Redraws the per-table bars in place on a terminal (stderr).
class TtyDisplay {
 public:
  void Draw(const core::ProgressSnapshot& snapshot) {
    std::string out;
    if (lines_ > 0) out += "\x1b[" + std::to_string(lines_) + "A";
    int width = TerminalWidth() - 1;
    auto rates = ComputeRates(snapshot);
    out += "\x1b[2K" + std::string("sync: ") + snapshot.phase + ", " +
           FormatDuration(snapshot.elapsed_s) + " elapsed\n";
    for (const auto& r : rates) out += "\x1b[2K" + FormatProgressLine(r, width) + "\n";
    lines_ = static_cast<int>(rates.size()) + 1;
    std::cerr << out << std::flush;
  }

 private:
  int lines_ = 0;
};

// Plain lines for logs and pipes: a line per table every few seconds and when it completes.
class PlainDisplay {
 public:
  void Draw(const core::ProgressSnapshot& snapshot, bool force) {
    auto now = std::chrono::steady_clock::now();
    bool periodic = force || now - last_ >= std::chrono::seconds(5);
    for (const auto& r : ComputeRates(snapshot)) {
      bool newly_done = r.done && !reported_done_[r.table];
      if (newly_done) reported_done_[r.table] = true;
      if (newly_done || (periodic && !r.done)) {
        std::cerr << "sync: " << FormatProgressLine(r, 0) << "\n";
      }
    }
    if (periodic) last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::map<std::string, bool> reported_done_;
};

}  // namespace

int SyncCommand(const std::string& config_path) {
  auto loaded = core::LoadConnectorConfigFile(config_path);
  if (!loaded.ok()) {
    std::cerr << "sluice sync: " << loaded.status().message() << "\n";
    return 2;
  }
  core::ConnectorConfig config = std::move(*loaded);
  const std::string one_shot(core::SnapshotModeName(core::SnapshotMode::kInitialOnly));
  std::string mode = config.Get("snapshot.mode", one_shot);
  if (mode != one_shot) {
    std::cerr << "sluice sync: snapshot.mode=" << mode
              << " replaced by initial_only (a sync copies the tables once)\n";
  }
  config.mutable_values()["snapshot.mode"] = one_shot;
  const std::vector<std::string> sync_defaults = ApplySyncDefaults(config);
  if (config.name().empty()) config.set_name("sync");
  if (core::Status s = ValidateConfig(config); !s.ok()) {
    std::cerr << "sluice sync: " << config_path << ": " << s.message() << "\n";
    return 2;
  }

  BlockStopSignals();  // before any thread starts: only the watcher below receives them

  core::MetricsRegistry metrics;
  core::ProgressTracker progress;
  auto built = BuildConnector(config, &metrics, &progress);
  if (!built.ok()) {
    std::cerr << "sluice sync: " << built.status().message() << "\n";
    return built.status().code() == core::StatusCode::kInvalidArgument ? 2 : 1;
  }
  auto logger = core::ConnectorLogger(config.name());
  logger->info("sync starting: {}", config.RedactedJson().dump());
  for (const std::string& setting : sync_defaults) {
    logger->info("sync: {} (a sync's default where the config leaves it out)", setting);
  }
  // No position store: a sync copies everything from scratch.
  built->options.one_shot = true;  // copies from the start whatever the target holds
  core::Pipeline pipeline(config.name(), std::move(built->source), std::move(built->sink), nullptr,
                          built->options, &metrics, logger);
  pipeline.Start();

  std::atomic<bool> cancelled{false};
  std::optional<StopSignalWatcher> watcher;
  watcher.emplace([&pipeline, &cancelled](int) {
    cancelled = true;
    pipeline.RequestStop();
  });

  // What the sync made on the source (the PostgreSQL publication; its slot is temporary and
  // ends with the snapshot) serves only the snapshot's reads. It is released on a thread of its
  // own as soon as the source reports "finished", while the target still loads the last rows
  // and builds the keys (0.5-1 s for 2 M rows), rather than after them: one connection and two
  // statements (20-40 ms) off the end of every sync. Whatever the outcome, it is released (here,
  // or below if the source never finished) before the command returns.
  // A jthread: joined on every way out of this function, exceptions included.
  std::optional<std::jthread> release;
  bool released = false;
  auto release_now = [&config] {
    try {
      ReleaseConnectorObjects(SourceBuilderFor(nullptr), config, std::nullopt, /*drop=*/true);
    } catch (...) {  // it catches everything itself; nothing may escape a thread
    }
  };
  auto start_release = [&] {
    if (released) return;
    released = true;
    try {
      release.emplace(release_now);
    } catch (...) {  // no thread to be had: release here
      release_now();
    }
  };

  const bool tty = isatty(STDERR_FILENO) == 1;
  TtyDisplay tty_display;
  PlainDisplay plain_display;
  // Woken every 50 ms to notice the source's end promptly; the display keeps its own pace.
  const auto draw_every = std::chrono::milliseconds(tty ? 200 : 500);
  auto drawn = std::chrono::steady_clock::now();
  while (!pipeline.WaitFor(std::chrono::milliseconds(50))) {
    core::ProgressSnapshot now = progress.Snapshot();
    if (now.phase == "finished") start_release();
    if (std::chrono::steady_clock::now() - drawn < draw_every) continue;
    drawn = std::chrono::steady_clock::now();
    if (tty) {
      tty_display.Draw(now);
    } else {
      plain_display.Draw(now, false);
    }
  }
  core::Status result = pipeline.Wait();
  watcher.reset();
  core::ProgressSnapshot final_snapshot = progress.Snapshot();
  if (tty) {
    tty_display.Draw(final_snapshot);
  } else {
    plain_display.Draw(final_snapshot, true);
  }

  std::cout << FormatSummaryTable(final_snapshot) << std::flush;
  // Whatever the outcome, drop what the sync made on the source (its publication; the slot was
  // temporary): nothing else would ever use it.
  start_release();
  if (release) release->join();
  if (!result.ok()) {
    std::cerr << "sluice sync: failed: " << result.ToString() << "\n";
    return result.code() == core::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (cancelled || pipeline.state() != core::PipelineState::kFinished) {
    std::cerr << "sluice sync: cancelled before the snapshot finished; the target holds a "
                 "partial copy\n";
    return 1;
  }
  std::cerr << "sluice sync: done, " << pipeline.events_written() << " rows in "
            << FormatDuration(final_snapshot.elapsed_s) << "\n";
  return 0;
}

}  // namespace sluice::api
