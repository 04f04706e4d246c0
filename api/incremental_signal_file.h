// IncrementalSignalFile: the incremental-snapshot trigger of `sluice run`, which has no REST
// API (`--snapshot-signal FILE`). Writing a request into FILE (the body POST
// /connectors/{name}/snapshots takes, e.g. {"tables": ["public.orders"]}) starts it: the file is
// picked up within half a second and renamed FILE.accepted, or replaced by FILE.error holding
// the reason. Progress goes to the log.
//
// Lifecycle: watches from construction until destruction (which joins its thread).
// Thread-safety: none needed from callers; its thread only calls the thread-safe
// core::IncrementalSnapshots.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "core/incremental_snapshot.h"

namespace spdlog {
class logger;
}

namespace sluice::api {

class IncrementalSignalFile {
 public:
  // `snapshots` may be null (a source without incremental snapshots: every request is refused).
  IncrementalSignalFile(std::string path, std::shared_ptr<core::IncrementalSnapshots> snapshots,
                        std::shared_ptr<spdlog::logger> logger);
  ~IncrementalSignalFile();

 private:
  void Loop(std::stop_token stop);
  void Take();

  std::string path_;
  std::shared_ptr<core::IncrementalSnapshots> snapshots_;
  std::shared_ptr<spdlog::logger> logger_;
  std::jthread thread_;  // last: started once the members above exist
};

}  // namespace sluice::api
