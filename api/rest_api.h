// RestApi: the Kafka Connect-compatible REST API of `sluice serve` (DESIGN.md lists the routes),
// as a plain function from HttpRequest to HttpResponse, so that it is testable without sockets.
// Routing, the request guard (Host, Origin, Content-Type: api/request_guard.h), authentication
// (bearer token), JSON parsing and error mapping live here; the work is done by the Supervisor
// (connectors) and the SyncManager (one-shot syncs). Every config in a response is redacted
// (ConnectorConfig::RedactedJson). Errors are {"error_code", "message"}, always valid JSON
// (api/rest_json.h). Connector names follow ValidateConnectorName.
//
// Connection checks (validate) run on a bounded pool of their own with a deadline, with their
// connect timeouts capped (BoundCheckTimeouts): a host that accepts and never answers costs a
// validate call at most `check_deadline`, and never an HTTP I/O thread (the server runs every
// request for which MayBlock() is true on its slow lane).
//
// GET/HEAD /ui/… is the web console (api/console.h): static assets, served without the token.
//
// Lifecycle: the destructor waits for running connection checks (each bounded by its capped
// timeouts). Thread-safety: Handle() may be called concurrently from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "api/metrics_history.h"
#include "api/request_guard.h"
#include "api/supervisor.h"
#include "api/sync_manager.h"
#include "api/worker_pool.h"
#include "core/metrics.h"

namespace sluice::api {

class VerifyManager;

// The longest a connection check in validate may take, and the cap put on connect.timeout.ms
// and sink.kafka.flush.timeout.ms for the check.
inline constexpr int64_t kMaxCheckTimeoutMs = 30000;

using ConnectionChecker =
    std::function<std::vector<std::pair<std::string, std::string>>(const core::ConnectorConfig&)>;

struct RestApiOptions {
  std::string token;  // non-empty: every route but GET /healthz needs "Authorization: Bearer <token>"
  // Tries a config's connections for PUT /connector-plugins/{class}/config/validate; returns one
  // error message per failed check, keyed by the config key it concerns. Default: builds the
  // connector and calls Source::Check and Sink::Check.
  ConnectionChecker check_connections;
  RequestGuardOptions guard;
  // A validate call answers with an error in its result when its connection check has not
  // finished by then (the check itself goes on in the pool until its own timeouts end it).
  std::chrono::milliseconds check_deadline{kMaxCheckTimeoutMs};
  // Answers GET /connectors/{name}/metrics/history (the web console's plots); unset: 404.
  const MetricsHistory* history = nullptr;
  // Runs POST/GET/DELETE /connectors/{name}/verify jobs (api/verify_manager.h); unset: 404.
  VerifyManager* verify = nullptr;
  // Cluster mode: answers GET /cluster and adds "cluster" to GET / (api/cluster/
  // cluster_worker.h); unset (single node): GET /cluster is 404.
  std::function<nlohmann::json()> cluster;
  int check_threads = 4;        // checks running at once
  size_t check_max_pending = 4;  // more than that waiting: validate says "busy" at once
};

class RestApi {
 public:
  RestApi(Supervisor* supervisor, SyncManager* syncs, core::MetricsRegistry* metrics,
          RestApiOptions options);
  ~RestApi();

  HttpResponse Handle(const HttpRequest& request);

  // True for requests that may wait (mutations wait for pipelines to stop, validate runs
  // connection checks): the HTTP server runs them off its I/O threads.
  static bool MayBlock(const HttpRequest& request);

 private:
  HttpResponse Route(const HttpRequest& request);
  HttpResponse HandleConnectors(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleConnector(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleOffsets(const HttpRequest& request, const std::string& name);
  HttpResponse HandlePlugins(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleVerify(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleSnapshots(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleSyncVerify(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleSyncs(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse Restart(const HttpRequest& request, const std::string& name);
  HttpResponse Validate(const std::string& plugin_class, const std::string& body);
  // options_.check_connections on the check pool, bounded by options_.check_deadline.
  std::vector<std::pair<std::string, std::string>> RunConnectionChecks(
      const core::ConnectorConfig& config);

  Supervisor* supervisor_;
  SyncManager* syncs_;
  core::MetricsRegistry* metrics_;
  RestApiOptions options_;
  RequestGuard guard_;
  std::unique_ptr<WorkerPool> check_pool_;  // last: destroyed (joined) first
};

// Default RestApiOptions::check_connections.
std::vector<std::pair<std::string, std::string>> CheckConnections(
    const core::ConnectorConfig& config);

// `config` with connect.timeout.ms and sink.kafka.flush.timeout.ms capped at kMaxCheckTimeoutMs
// where set (their defaults are at most that), for a connection check.
core::ConnectorConfig BoundCheckTimeouts(const core::ConnectorConfig& config);

}  // namespace sluice::api
