// What the incremental-snapshot suites share, whatever the source: reading the per-table progress
// that GET/POST/DELETE /connectors/{name}/snapshots answer, waiting for a table to finish, and a
// background writer that keeps changing the source while a table is read.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {

// The entry of `table` in a progress answer ({"tables": [...]}); null when it is not listed.
inline nlohmann::json SnapshotTable(const nlohmann::json& list, const std::string& table) {
  for (const auto& t : list["tables"]) {
    if (t["table"] == table) return t;
  }
  return nlohmann::json();
}

// Waits until the incremental snapshot of `table` is DONE and returns its entry; a FAILED one
// ends the test with its error.
inline nlohmann::json WaitSnapshotDone(RestClient& api, const std::string& connector,
                                       const std::string& table,
                                       std::chrono::seconds timeout = std::chrono::seconds(120)) {
  nlohmann::json last;
  WaitUntil([&] {
    auto r = api.Call("GET", "/connectors/" + connector + "/snapshots");
    if (r.status != 200) return false;
    last = SnapshotTable(r.Json(), table);
    if (!last.is_null() && last["state"] == "FAILED") {
      throw HarnessError("snapshot of " + table + " failed: " + last.dump());
    }
    return !last.is_null() && last["state"] == "DONE";
  }, timeout, "the incremental snapshot of " + table + " finishes");
  return last;
}

// Runs `round` (one batch of writes; its failures are ignored: a round may race a restart) in a
// thread of its own until Stop(). Start() returns once the first round ran.
class BackgroundWriter {
 public:
  ~BackgroundWriter() { Stop(); }
  void Start(std::function<void()> round) {
    thread_ = std::thread([this, round = std::move(round)] {
      while (!stop_.load()) {
        round();
        rounds_.fetch_add(1);
      }
    });
    WaitUntil([&] { return rounds_.load() > 0; }, std::chrono::seconds(30), "the writer commits");
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int rounds() const { return rounds_.load(); }

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
};

}  // namespace sluice::itest
