// What the REST API checks before a request reaches a handler, and how it makes request bytes
// safe to echo:
//
// - Connector names (Kafka Connect's rules, bounded): ValidateConnectorName.
// - Text from a request (a path, a name, a query value) quoted in an error message or a log line
//   goes through SafeText: control characters and invalid UTF-8 become visible escapes, so a
//   name cannot forge a log line or make the JSON encoder throw.
// - A header value built from request bytes (Location) is percent-encoded: PercentEncodeSegment.
// - RequestGuard: the Host check (DNS rebinding), the Origin check (cross-site requests) and the
//   Content-Type rule for mutating requests (CSRF through "simple" browser requests). README.md,
//   "Security model", states the rules for users.
//
// Thread-safety: free functions are pure; a RequestGuard is immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "core/status.h"
#include "core/text_codec.h"

namespace sluice::api {

// The longest connector name, in bytes of UTF-8. Kafka's topic names stop at 249 characters and
// names derived from a connector's (logger, metric labels, consumer group, default topic prefix)
// need room for a suffix; PostgreSQL slot and publication names (63 bytes) are derived with a
// hash, not by truncation, so they stay unique whatever the length.
inline constexpr size_t kMaxConnectorNameBytes = 200;

// kInvalidArgument naming the problem when `name` is empty, longer than kMaxConnectorNameBytes,
// not valid UTF-8, contains a control character (C0, DEL or C1, which includes CR, LF and TAB),
// '/' or '\', or is "." or ".." (which a URL cannot address).
core::Status ValidateConnectorName(std::string_view name);

// The API escapes what it echoes with core's SafeText (core/text_codec.h).
using core::IsValidUtf8;
using core::SafeText;

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), so that
// the result is printable ASCII and one path segment.
std::string PercentEncodeSegment(std::string_view text);

struct RequestGuardOptions {
  // The listen address as given to --listen ("127.0.0.1", "::1", "0.0.0.0", "10.0.0.5") and its
  // port (0 when not known yet).
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // Further names accepted in Host (--allowed-host), without a port, e.g. "sluice.internal".
  std::vector<std::string> allowed_hosts;
  // Further origins accepted in Origin (--allowed-origin), e.g. "https://console.example.com".
  std::vector<std::string> allowed_origins;
};

// An HTTP status and message for a refused request.
struct GuardRefusal {
  int status;
  std::string message;
};

class RequestGuard {
 public:
  explicit RequestGuard(RequestGuardOptions options);

  // Host: absent (HTTP/1.0) or naming this server: the listen address; localhost, 127.0.0.1 and
  // [::1] when the listener is on loopback or on every address; any IP literal when it is on
  // every address (0.0.0.0, ::), since rebinding needs a DNS name; an --allowed-host name. The
  // port is not compared (a proxy or a published container port may change it). Else 421.
  std::optional<GuardRefusal> CheckHost(const HttpRequest& request) const;

  // Origin, on every method but GET, HEAD and OPTIONS: absent (not a browser), or the request's
  // own origin (http(s)://<Host>, Host having passed CheckHost), or http://<listen host:port>, or
  // an --allowed-origin. Else 403.
  std::optional<GuardRefusal> CheckOrigin(const HttpRequest& request) const;

  // A POST, PUT or PATCH with a body needs Content-Type application/json (parameters such as
  // charset allowed); else 415. Bodyless calls (pause, resume, stop, restart) need none.
  static std::optional<GuardRefusal> CheckContentType(const HttpRequest& request);

  // The three checks above, in that order.
  std::optional<GuardRefusal> Check(const HttpRequest& request) const;

 private:
  bool HostAllowed(const std::string& host) const;

  RequestGuardOptions options_;
  bool loopback_listener_ = false;
  bool wildcard_listener_ = false;
};

}  // namespace sluice::api
