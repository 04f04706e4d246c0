// A tiny HTTP client for the black-box tests of `sluice serve`: curl as a subprocess, so that the
// server is checked by a client that shares no code with it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::itest {

struct HttpResult {
  int status = 0;  // 0 when curl could not connect
  std::string body;
  std::string headers;
  nlohmann::json Json() const;  // throws HarnessError when the body is not JSON
};

class RestClient {
 public:
  explicit RestClient(int port, std::string token = "") : port_(port), token_(std::move(token)) {}

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string& body = "",
                  const std::vector<std::string>& extra_headers = {}) const;
  // Calls and checks the status; returns the parsed body (null when empty).
  nlohmann::json Expect(int status, const std::string& method, const std::string& path,
                        const std::string& body = "") const;

  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_token(std::string token) { token_ = std::move(token); }

 private:
  int port_;
  std::string token_;
};

// Sends raw bytes on a TCP connection and returns what the server answered (for malformed HTTP).
std::string RawExchange(int port, const std::string& bytes);

}  // namespace sluice::itest
