#include "api/stop_signals.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "core/status.h"

namespace sluice::api {

sigset_t StopSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

void BlockStopSignals() {
  sigset_t set = StopSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StopSignalWatcher::StopSignalWatcher(std::function<void(int)> on_signal)
    : thread_([on_signal = std::move(on_signal)] {
        sigset_t set = StopSignalSet();
        int sig = 0;
        // SIGUSR1 is the destructor's wake-up; a stop signal is handled once, then the
        // watcher only waits to be woken.
        bool handled = false;
        while (sigwait(&set, &sig) == 0 && sig != SIGUSR1) {
          // No exception may leave this thread (std::terminate would skip the flush that the
          // handler starts): log it and carry on waiting.
          try {
            if (!handled) on_signal(sig);
          } catch (...) {
            spdlog::error("{}", core::ExceptionToStatus("handling signal " + std::to_string(sig),
                                                        std::current_exception()).message());
          }
          handled = true;
        }
      }) {}

StopSignalWatcher::~StopSignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace sluice::api
