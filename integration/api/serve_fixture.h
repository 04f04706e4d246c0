// Starts `sluice serve` on a free loopback port in its own directory (state file sluice.db) and
// waits until /healthz answers; Restart() starts it again on the same port and state.
#pragma once

#include <string>
#include <vector>

#include "integration/api/http_client.h"
#include "integration/common/itest.h"

namespace sluice::itest {

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> extra_args = {})
      : port_(FreeLoopbackPort()),
        process_(SluiceProcess::Start(Args(port_, std::move(extra_args)))),
        client_(port_) {
    WaitHealthy();
  }

  RestClient& client() { return client_; }
  int port() const { return port_; }
  SluiceProcess& process() { return process_; }

  void WaitHealthy() {
    WaitUntil([&] {
      if (!process_.IsRunning()) {
        throw HarnessError("sluice serve exited: " + process_.LogTail());
      }
      return client_.Call("GET", "/healthz").status == 200;
    }, std::chrono::seconds(30), "sluice serve answers /healthz");
  }

  // SIGTERM (the gate: flush, commit, exit 0), then start again with the same state.
  ExitStatus Restart() {
    ExitStatus status = process_.Stop();
    process_.Restart();
    WaitHealthy();
    return status;
  }

  std::string State(const std::string& connector) {
    return client_.Expect(200, "GET", "/connectors/" + connector + "/status")["connector"]["state"];
  }

  void WaitForState(const std::string& connector, const std::string& state,
                    std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::string last;
    WaitUntil([&] {
      auto r = client_.Call("GET", "/connectors/" + connector + "/status");
      last = r.body;
      return r.status == 200 && r.Json()["connector"]["state"] == state;
    }, timeout, connector + " reaches " + state);
  }

  // PUT …/stop, then waits until the pipeline ended: STOPPED is shown as soon as it is asked
  // for, but offsets change only once the pipeline flushed its last batch (a PATCH answers 409
  // "still stopping" until then; the probe's "{}" position is refused otherwise, never stored).
  void StopAndSettle(const std::string& connector) {
    client_.Call("PUT", "/connectors/" + connector + "/stop");
    WaitForState(connector, "STOPPED");
    const nlohmann::json probe = {{"offsets", {{{"partition", {{"server", connector}}},
                                                {"offset", {{"position", "{}"}}}}}}};
    WaitUntil([&] {
      return client_.Call("PATCH", "/connectors/" + connector + "/offsets", probe.dump()).status !=
             409;
    }, std::chrono::seconds(30), "the pipeline of " + connector + " to end");
  }

 private:
  static std::vector<std::string> Args(int port, std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--state", "sluice.db"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  int port_;
  SluiceProcess process_;
  RestClient client_;
};

}  // namespace sluice::itest
