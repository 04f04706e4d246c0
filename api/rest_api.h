// RestApi: the Kafka Connect-compatible REST API of `sluice serve` (DESIGN.md lists the routes),
// as a plain function from HttpRequest to HttpResponse, so that it is testable without sockets.
// Routing, authentication (bearer token), JSON parsing and error mapping live here; the work is
// done by the Supervisor (connectors) and the SyncManager (one-shot syncs). Every config in a
// response is redacted (ConnectorConfig::RedactedJson). Errors are {"error_code", "message"}.
//
// Thread-safety: Handle() may be called concurrently from any thread.
#pragma once

#include <functional>
#include <string>

#include "api/http_types.h"
#include "api/supervisor.h"
#include "api/sync_manager.h"
#include "core/metrics.h"

namespace sluice::api {

struct RestApiOptions {
  std::string token;  // non-empty: every route but GET /healthz needs "Authorization: Bearer <token>"
  // Tries a config's connections for PUT /connector-plugins/{class}/config/validate; returns one
  // error message per failed check, keyed by the config key it concerns. Default: builds the
  // connector and calls Source::Check and Sink::Check.
  std::function<std::vector<std::pair<std::string, std::string>>(const core::ConnectorConfig&)>
      check_connections;
};

class RestApi {
 public:
  RestApi(Supervisor* supervisor, SyncManager* syncs, core::MetricsRegistry* metrics,
          RestApiOptions options);

  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Route(const HttpRequest& request);
  HttpResponse HandleConnectors(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleConnector(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleOffsets(const HttpRequest& request, const std::string& name);
  HttpResponse HandlePlugins(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse HandleSyncs(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse Validate(const std::string& plugin_class, const std::string& body);

  Supervisor* supervisor_;
  SyncManager* syncs_;
  core::MetricsRegistry* metrics_;
  RestApiOptions options_;
};

// Default RestApiOptions::check_connections.
std::vector<std::pair<std::string, std::string>> CheckConnections(
    const core::ConnectorConfig& config);

}  // namespace sluice::api
