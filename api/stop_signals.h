// Stop signals (SIGINT, SIGTERM) for the foreground commands: BlockStopSignals() before any
// other thread starts, so that only the watcher receives them; StopSignalWatcher then runs
// `on_signal` on its own thread when one arrives. Its destructor wakes the watcher at once (a
// private SIGUSR1), so a command that finishes by itself exits without waiting for a poll tick.
//
// Thread-safety: construct and destroy on one thread; `on_signal` runs on the watcher thread.
#pragma once

#include <csignal>
#include <functional>
#include <thread>

namespace sluice::api {

// The set BlockStopSignals() blocks: SIGINT, SIGTERM and the watcher's wake-up (SIGUSR1).
sigset_t StopSignalSet();
// Blocks StopSignalSet() in the calling thread and every thread it starts afterwards.
void BlockStopSignals();

class StopSignalWatcher {
 public:
  explicit StopSignalWatcher(std::function<void(int signal)> on_signal);
  ~StopSignalWatcher();
  StopSignalWatcher(const StopSignalWatcher&) = delete;
  StopSignalWatcher& operator=(const StopSignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace sluice::api
