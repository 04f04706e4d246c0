// Plain HTTP request/response values that the REST handlers work on, so that routing and
// handlers are testable without sockets (api/http_server.cc converts from/to Boost.Beast).
//
// Thread-safety: values.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sluice::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order, repeats kept
  std::map<std::string, std::string> headers;              // names lowercased
  std::string body;

  // The header's value, or "" when absent (`name` lowercase).
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // Every value given for a query parameter ("expand=status&expand=info").
  std::vector<std::string> QueryValues(const std::string& key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : query) {
      if (k == key) out.push_back(v);
    }
    return out;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Splits a request target into a percent-decoded path and query parameters. False when the
// target is malformed (bad percent escape, not starting with '/').
bool ParseTarget(const std::string& target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query);

}  // namespace sluice::api
