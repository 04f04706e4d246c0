// HttpServer: the REST service's HTTP/1.1 listener (Boost.Beast 1.74, the examples' shape: a
// listener that accepts, one session per connection with keep-alive, one fail() path). It turns
// each request into an HttpRequest, calls the handler and writes its HttpResponse. Bodies larger
// than `max_body_bytes` get 413 and malformed HTTP gets 400 without reaching the handler.
// Beast stays inside http_server.cc: this header includes none of it.
//
// Lifecycle: Start() binds and runs `threads` I/O threads; Stop() closes the listener, ends the
// sessions and joins (also done by the destructor).
// Thread-safety: the handler is called concurrently from the I/O threads and must be
// thread-safe; Stop() from any thread but not from inside the handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "core/status.h"

namespace sluice::api {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8083;  // 0: any free port (see HttpServer::port())
  size_t max_body_bytes = 1u << 20;
  int threads = 4;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds and starts serving. kInvalidArgument for a bad address, kUnavailable when the port is
  // taken.
  static core::Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                         HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (useful with port 0).
  uint16_t port() const;
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::api
