// The web console of `sluice serve` (GET /ui/): static assets embedded in the binary at build
// time (api/ui/, generated into console_assets.cc by api/ui/embed.cmake, Chart.js from Debian's
// libjs-chart.js), served on the API's port.
//
// The assets hold no data (the page fetches everything from the API with the bearer token the
// user types in), so they are served without the token: the page must load to ask for it. They
// still pass the API's Host check. Every console response carries a strict
// Content-Security-Policy (no inline script or style, same-origin only, no framing) and
// X-Content-Type-Options: nosniff; assets have a strong ETag (If-None-Match gives 304),
// Cache-Control: no-cache (revalidate, so a new binary's console shows at once) and are sent
// gzip-compressed (compressed at build time) to clients that accept it.
//
// Thread-safety: pure functions over immutable data.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "api/http_types.h"

namespace sluice::api {

class MetricsHistory;
class Supervisor;
struct ConnectorReading;
}  // namespace sluice::api
namespace sluice::core {
class MetricsRegistry;
}

namespace sluice::api {

struct ConsoleAsset {
  const char* path;          // URL path, e.g. "/ui/app.js"
  const char* content_type;
  const char* etag;          // quoted
  const unsigned char* data;
  size_t size;
  const unsigned char* gzip;
  size_t gzip_size;
};

// Every embedded asset (generated).
const std::vector<ConsoleAsset>& ConsoleAssets();

inline constexpr const char* kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// True for /ui and everything under /ui/.
bool IsConsolePath(const std::string& path);

// Answers a request for a console path: GET or HEAD of an asset (/ui/ is index.html); /ui
// redirects to /ui/; an unknown asset is a JSON 404, another method a JSON 405. Every answer
// has the console's security headers.
HttpResponse ServeConsole(const HttpRequest& request);

// What the metrics history samples of every connector (MetricsHistory::Record's input).
std::vector<ConnectorReading> ReadConnectors(const Supervisor& supervisor,
                                             const core::MetricsRegistry& metrics);

}  // namespace sluice::api
