// `sluice serve`: the REST service.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "api/cluster/cluster_worker.h"
#include "api/commands.h"
#include "api/console.h"
#include "api/http_server.h"
#include "api/rest_api.h"
#include "api/verify_manager.h"
#include "api/supervisor.h"
#include "api/sync_manager.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/parse_number.h"
#include "core/sqlite_state_store.h"

namespace sluice::api {

namespace {

// "host:port", "[v6]:port", ":port" or "port".
bool ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  std::string port_text = listen;
  *host = "127.0.0.1";
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return false;
    }
    *host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else if (size_t colon = listen.rfind(':'); colon != std::string::npos) {
    if (colon > 0) *host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  auto p = core::ParseNumber<uint16_t>(port_text, "--listen port");
  if (!p.ok()) return false;
  *port = *p;
  return true;
}

// The worker of `serve --cluster`: options from the flags, topics checked, state read.
core::Result<std::unique_ptr<cluster::ClusterWorker>> StartClusterWorker(
    const ServeOptions& options, const std::string& worker_id, core::MetricsRegistry* metrics) {
  cluster::ClusterOptions cluster_options = options.cluster_options;
  for (const std::string& property : options.cluster_properties) {
    size_t eq = property.find('=');
    if (eq == std::string::npos || eq == 0) {
      return core::InvalidArgumentError("--cluster.property '" + property +
                                        "' is not KEY=VALUE");
    }
    cluster_options.client[property.substr(0, eq)] = property.substr(eq + 1);
  }
  if (worker_id.ends_with(":0") || worker_id.rfind("0.0.0.0:", 0) == 0 ||
      worker_id.rfind(":::", 0) == 0) {
    return core::InvalidArgumentError(
        "--cluster needs a unique worker id: set --cluster.worker.id HOST:PORT (the default, "
        "the --listen address '" + worker_id + "', has no fixed port or host)");
  }
  return cluster::ClusterWorker::Create(std::move(cluster_options), worker_id, metrics);
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  return address == "::1" || address.rfind("127.", 0) == 0;
}

std::string CheckListenSecurity(const std::string& address, const std::string& token,
                                bool insecure_no_auth) {
  if (IsLoopbackAddress(address) || !token.empty() || insecure_no_auth) return "";
  return "refusing to listen on " + address +
         " without a token: anyone who can reach the port would control Sluice and read its "
         "connectors; set --token TOKEN (or SLUICE_TOKEN), or pass --insecure-no-auth to accept "
         "that";
}

int ServeCommand(const ServeOptions& options) {
  HttpServerOptions http;
  if (!ParseListen(options.listen, &http.address, &http.port)) {
    std::cerr << "sluice serve: --listen '" << options.listen
              << "' is not HOST:PORT (e.g. 127.0.0.1:8083)\n";
    return 2;
  }
  http.max_body_bytes = options.max_body_bytes;
  std::string token = options.token;
  if (token.empty()) {
    if (const char* env = std::getenv("SLUICE_TOKEN")) token = env;
  }
  if (std::string problem = CheckListenSecurity(http.address, token, options.insecure_no_auth);
      !problem.empty()) {
    std::cerr << "sluice serve: " << problem << "\n";
    return 2;
  }

  // Block the stop signals in every thread; this thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  core::MetricsRegistry metrics;
  SupervisorOptions supervisor_options;
  supervisor_options.worker_id = http.address + ":" + std::to_string(http.port);
  std::unique_ptr<core::StateStore> owned_store;
  std::unique_ptr<cluster::ClusterWorker> worker;
  core::StateStore* store = nullptr;
  if (options.cluster) {
    if (!options.cluster_options.worker_id.empty()) {
      supervisor_options.worker_id = options.cluster_options.worker_id;
    }
    auto created = StartClusterWorker(options, supervisor_options.worker_id, &metrics);
    if (!created.ok()) {
      std::cerr << "sluice serve: " << created.status().message() << "\n";
      return created.status().code() == core::StatusCode::kInvalidArgument ? 2 : 1;
    }
    worker = std::move(*created);
    worker->ConfigureSupervisor(supervisor_options);
    store = worker->store();
  } else {
    auto opened = core::SqliteStateStore::Open(options.state_path);
    if (!opened.ok()) {
      std::cerr << "sluice serve: " << opened.status().message() << "\n";
      return 1;
    }
    owned_store = std::move(*opened);
    store = owned_store.get();
  }
  Supervisor supervisor(store, &metrics, supervisor_options);
  // On every return below the worker leaves the group before the Supervisor goes (leaving
  // revokes its partitions, which stops and commits their connectors first).
  std::unique_ptr<cluster::ClusterWorker, void (*)(cluster::ClusterWorker*)> leave_group(
      worker.get(), [](cluster::ClusterWorker* w) { w->Stop(); });
  SyncManager syncs(store, &metrics, nullptr, nullptr);
  if (core::Status s = supervisor.Start(); !s.ok()) {
    std::cerr << "sluice serve: cannot restore connectors: " << s.message() << "\n";
    return 1;
  }
  if (core::Status s = syncs.Start(); !s.ok()) {
    std::cerr << "sluice serve: cannot restore syncs: " << s.message() << "\n";
    return 1;
  }
  if (worker) {
    if (core::Status s = worker->Start(&supervisor); !s.ok()) {
      std::cerr << "sluice serve: " << s.message() << "\n";
      return 1;
    }
  }
  // The web console's plots: 720 samples x 5 s per connector (api/metrics_history.h).
  MetricsHistory history;
  HistorySampler sampler(&history, [&supervisor, &metrics] {
    return ReadConnectors(supervisor, metrics);
  });
  VerifyManager verifies(&metrics);
  RestApiOptions api_options;
  api_options.token = token;
  api_options.verify = &verifies;
  api_options.history = &history;
  api_options.guard.listen_host = http.address;
  api_options.guard.listen_port = http.port;
  api_options.guard.allowed_hosts = options.allowed_hosts;
  api_options.guard.allowed_origins = options.allowed_origins;
  if (worker) api_options.cluster = [&worker] { return worker->ClusterJson(); };
  RestApi api(&supervisor, &syncs, &metrics, std::move(api_options));
  http.may_block = &RestApi::MayBlock;
  auto server = HttpServer::Start(http, [&api](const HttpRequest& r) { return api.Handle(r); });
  if (!server.ok()) {
    std::cerr << "sluice serve: " << server.status().message() << "\n";
    return server.status().code() == core::StatusCode::kInvalidArgument ? 2 : 1;
  }
  spdlog::info("sluice serve: listening on http://{}:{} (console /ui/, state {}, {})",
               http.address, (*server)->port(),
               worker ? "in the cluster's Kafka topics" : options.state_path,
               token.empty() ? "no authentication" : "bearer token required");
  if (!IsLoopbackAddress(http.address) && token.empty()) {
    spdlog::warn("listening on {} without a token (--insecure-no-auth): anyone who can reach it "
                 "controls Sluice",
                 http.address);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received: refusing new work, stopping connectors (flush, commit)", sig);
  // The gate: new mutations get 503 while the pipelines flush and commit.
  supervisor.Shutdown();
  syncs.Shutdown();
  // Leave the group after the connectors stopped and committed, so that no other worker
  // starts one of them before.
  if (worker) worker->Stop();
  (*server)->Stop();
  spdlog::info("sluice serve: stopped");
  return 0;
}

}  // namespace sluice::api
