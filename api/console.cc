#include "api/console.h"

#include "api/metrics_history.h"
#include "api/rest_json.h"
#include "api/supervisor.h"
#include "core/metrics.h"

namespace sluice::api {

namespace {

void AddSecurityHeaders(HttpResponse* r) {
  r->headers.emplace_back("Content-Security-Policy", kConsoleCsp);
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
}

bool AcceptsGzip(const HttpRequest& request) {
  // Good enough for browsers and curl: "gzip" listed, not refused with q=0.
  std::string accept = request.Header("accept-encoding");
  size_t at = accept.find("gzip");
  if (at == std::string::npos) return false;
  size_t end = accept.find(',', at);
  std::string item = accept.substr(at, end == std::string::npos ? std::string::npos : end - at);
  return item.find("q=0") == std::string::npos || item.find("q=0.") != std::string::npos;
}

bool EtagMatches(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  // A list of (possibly weak, W/"...") tags: ours is a quoted hash, so a substring match is exact.
  return if_none_match.find(etag) != std::string::npos;
}

}  // namespace

bool IsConsolePath(const std::string& path) {
  return path == "/ui" || path.rfind("/ui/", 0) == 0;
}

HttpResponse ServeConsole(const HttpRequest& request) {
  HttpResponse r;
  if (request.method != "GET" && request.method != "HEAD") {
    r = rest::MethodNotAllowed(request.method, request.path, "GET, HEAD");
  } else if (request.path == "/ui") {
    r = {301, "text/plain; charset=utf-8", "moved to /ui/\n", {{"Location", "/ui/"}}};
  } else {
    const std::string path = request.path == "/ui/" ? "/ui/index.html" : request.path;
    const ConsoleAsset* asset = nullptr;
    for (const ConsoleAsset& a : ConsoleAssets()) {
      if (path == a.path) asset = &a;
    }
    if (!asset) {
      r = rest::Error(404, "the console has no asset " + path);
    } else {
      r.status = 200;
      r.content_type = asset->content_type;
      r.headers.emplace_back("ETag", asset->etag);
      r.headers.emplace_back("Cache-Control", "no-cache");
      r.headers.emplace_back("Vary", "Accept-Encoding");
      if (EtagMatches(request.Header("if-none-match"), asset->etag)) {
        r.status = 304;
      } else if (AcceptsGzip(request)) {
        r.headers.emplace_back("Content-Encoding", "gzip");
        r.body.assign(reinterpret_cast<const char*>(asset->gzip), asset->gzip_size);
      } else {
        r.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
      }
    }
  }
  AddSecurityHeaders(&r);
  return r;
}

std::vector<ConnectorReading> ReadConnectors(const Supervisor& supervisor,
                                             const core::MetricsRegistry& metrics) {
  std::vector<ConnectorReading> out;
  for (const std::string& name : supervisor.Names()) {
    auto view = supervisor.Get(name);
    if (!view.ok()) continue;  // deleted meanwhile
    ConnectorReading r;
    r.name = name;
    r.events_total = view->events_written;
    for (const auto& t : view->progress.tables) r.snapshot_rows_total += t.rows_done;
    r.bytes_total = static_cast<uint64_t>(metrics.SumWithLabel("sluice_bytes_total", "connector", name));
    r.lag_ms = metrics.SumWithLabel("sluice_lag_ms", "connector", name);
    r.queue_events = metrics.SumWithLabel("sluice_queue_events", "connector", name);
    r.queue_bytes = metrics.SumWithLabel("sluice_queue_bytes", "connector", name);
    // Only a source that samples its retention has one: a PostgreSQL replication slot, or the
    // binlog after a MySQL/MariaDB source's committed position (both while streaming).
    if (view->progress.details.count("slot")) {
      r.slot_retained_bytes =
          metrics.SumWithLabel("sluice_source_slot_retained_bytes", "connector", name);
    } else if (view->progress.details.count("binlog")) {
      r.slot_retained_bytes =
          metrics.SumWithLabel("sluice_source_binlog_retained_bytes", "connector", name);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sluice::api
