#include "api/request_guard.h"
#include "core/text_codec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace sluice::api {

namespace {

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

std::string Hex2(unsigned value) {
  static const char* kDigits = "0123456789ABCDEF";
  return {kDigits[(value >> 4) & 0xF], kDigits[value & 0xF]};
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool IsIpv4(const std::string& host) {
  in_addr a;
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

// "[v6]" with the brackets.
bool IsBracketedIpv6(const std::string& host) {
  if (host.size() < 3 || host.front() != '[' || host.back() != ']') return false;
  in6_addr a;
  return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a) == 1;
}

// The host part of a Host header value, lowercased, a v6 literal kept in brackets; "" when the
// value is not host[:port].
std::string HostPart(const std::string& value) {
  std::string v = core::AsciiLower(Trim(value));
  std::string host, port;
  if (!v.empty() && v[0] == '[') {
    size_t close = v.find(']');
    if (close == std::string::npos) return "";
    host = v.substr(0, close + 1);
    if (close + 1 < v.size()) {
      if (v[close + 1] != ':') return "";
      port = v.substr(close + 2);
    }
  } else {
    size_t colon = v.find(':');
    host = v.substr(0, colon);
    if (colon != std::string::npos) port = v.substr(colon + 1);
  }
  if (host.empty() || port.size() > 5) return "";
  for (char c : port) {
    if (c < '0' || c > '9') return "";
  }
  for (char c : host) {
    // Letters, digits, '-', '.', and for v6 literals ':' and brackets; anything else is not a
    // host name (and would never match an allowed one).
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != ':' &&
        c != '[' && c != ']' && c != '_') {
      return "";
    }
  }
  return host;
}

// A listen address as it appears in a Host header: v6 in brackets.
std::string UrlHost(const std::string& address) {
  return address.find(':') != std::string::npos ? "[" + core::AsciiLower(address) + "]" : core::AsciiLower(address);
}

std::string NormalizeOrigin(std::string_view origin) {
  std::string o = core::AsciiLower(Trim(origin));
  while (!o.empty() && o.back() == '/') o.pop_back();
  return o;
}

}  // namespace

core::Status ValidateConnectorName(std::string_view name) {
  if (name.empty()) return core::InvalidArgumentError("the connector name must not be empty");
  if (name.size() > kMaxConnectorNameBytes) {
    return core::InvalidArgumentError(
        "connector name '" + SafeText(name, 40) + "' is " + std::to_string(name.size()) +
        " bytes long; the limit is " + std::to_string(kMaxConnectorNameBytes) + " bytes");
  }
  if (!IsValidUtf8(name)) {
    return core::InvalidArgumentError("connector name '" + SafeText(name) +
                                      "' is not valid UTF-8; use UTF-8 text");
  }
  uint32_t cp;
  for (size_t i = 0; i < name.size();) {
    size_t n = core::DecodeUtf8(name, i, &cp);
    if (IsControl(cp)) {
      return core::InvalidArgumentError(
          "connector name '" + SafeText(name) + "' contains a control character (" +
          (cp < 0x100 ? "\\x" + Hex2(cp) : "U+" + Hex2(cp >> 8) + Hex2(cp)) +
          "); names may not contain control characters such as CR, LF or TAB");
    }
    i += n;
  }
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
    return core::InvalidArgumentError("connector name '" + SafeText(name) +
                                      "' must not contain '/' or '\\'");
  }
  if (name == "." || name == "..") {
    return core::InvalidArgumentError("connector name '" + std::string(name) +
                                      "' cannot be addressed in a URL; choose another name");
  }
  return core::Status::Ok();
}

std::string PercentEncodeSegment(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += "%" + Hex2(u);
    }
  }
  return out;
}

RequestGuard::RequestGuard(RequestGuardOptions options) : options_(std::move(options)) {
  for (auto& h : options_.allowed_hosts) {
    h = core::AsciiLower(Trim(h));
    if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
  }
  for (auto& o : options_.allowed_origins) o = NormalizeOrigin(o);
  const std::string& a = options_.listen_host;
  wildcard_listener_ = a == "0.0.0.0" || a == "::" || a == "[::]";
  loopback_listener_ = a == "::1" || a.rfind("127.", 0) == 0;
}

bool RequestGuard::HostAllowed(const std::string& host) const {
  if (host.empty()) return false;
  if (host == UrlHost(options_.listen_host)) return true;
  if ((loopback_listener_ || wildcard_listener_) &&
      (host == "localhost" || host == "127.0.0.1" || host == "[::1]")) {
    return true;
  }
  if (wildcard_listener_ && (IsIpv4(host) || IsBracketedIpv6(host))) return true;
  return std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host) !=
         options_.allowed_hosts.end();
}

std::optional<GuardRefusal> RequestGuard::CheckHost(const HttpRequest& request) const {
  auto it = request.headers.find("host");
  if (it == request.headers.end()) return std::nullopt;
  std::string host = HostPart(it->second);
  if (HostAllowed(host)) return std::nullopt;
  return GuardRefusal{421, "host '" + SafeText(it->second, 100) +
                               "' is not a name of this server (DNS rebinding protection); "
                               "start sluice serve with --allowed-host NAME to accept it"};
}

std::optional<GuardRefusal> RequestGuard::CheckOrigin(const HttpRequest& request) const {
  const std::string& m = request.method;
  if (m == "GET" || m == "HEAD" || m == "OPTIONS") return std::nullopt;
  auto it = request.headers.find("origin");
  if (it == request.headers.end()) return std::nullopt;
  std::string origin = NormalizeOrigin(it->second);
  std::vector<std::string> same;
  if (std::string host = core::AsciiLower(Trim(request.Header("host"))); !host.empty()) {
    same = {"http://" + host, "https://" + host};
  }
  if (options_.listen_port != 0) {
    std::string port = ":" + std::to_string(options_.listen_port);
    same.push_back("http://" + UrlHost(options_.listen_host) + port);
    if (loopback_listener_) {
      for (const char* h : {"localhost", "127.0.0.1", "[::1]"}) {
        same.push_back(std::string("http://") + h + port);
      }
    }
  }
  if (std::find(same.begin(), same.end(), origin) != same.end() ||
      std::find(options_.allowed_origins.begin(), options_.allowed_origins.end(), origin) !=
          options_.allowed_origins.end()) {
    return std::nullopt;
  }
  return GuardRefusal{403, "origin '" + SafeText(it->second, 100) +
                               "' may not change this server (cross-site request refused); "
                               "start sluice serve with --allowed-origin ORIGIN to allow it"};
}

std::optional<GuardRefusal> RequestGuard::CheckContentType(const HttpRequest& request) {
  const std::string& m = request.method;
  if (m != "POST" && m != "PUT" && m != "PATCH") return std::nullopt;
  std::string type = request.Header("content-type");
  std::string media = core::AsciiLower(Trim(std::string_view(type).substr(0, type.find(';'))));
  // A bodyless call carries nothing to parse: lifecycle calls (pause, resume, stop, restart) are
  // made that way, and routes that need a body answer 400 without one.
  if (media == "application/json" || request.body.empty()) return std::nullopt;
  return GuardRefusal{415, "content type '" + SafeText(type, 100) + "' is not accepted for " +
                               m + "; send the body as 'Content-Type: application/json'"};
}

std::optional<GuardRefusal> RequestGuard::Check(const HttpRequest& request) const {
  if (auto r = CheckHost(request)) return r;
  if (auto r = CheckOrigin(request)) return r;
  return CheckContentType(request);
}

}  // namespace sluice::api
