// HttpServer: the REST service's HTTP/1.1 listener (Boost.Beast 1.74, the examples' shape: a
// listener that accepts, one session per connection with keep-alive, one fail() path). It turns
// each request into an HttpRequest, calls the handler and writes its HttpResponse. Bodies larger
// than `max_body_bytes` get 413 and malformed HTTP gets 400 without reaching the handler;
// `Expect: 100-continue` is answered before the body is read.
// Beast stays inside http_server.cc: this header includes none of it.
//
// The I/O threads never wait: a request for which `may_block` is true runs on a slow lane (a
// bounded WorkerPool of `slow_threads`) and its response is written when it is ready; when the
// slow lane is full the request gets 429 at once. So /healthz and GETs answer while mutations
// or validations wait on pipelines and peers.
//
// Nothing a handler returns can end the process: response headers are built inside try/catch,
// header values are made printable ASCII (bytes outside it percent-encoded, so CR/LF can never
// split a header) and capped in length; a response that still cannot be built becomes a JSON 500
// with fixed headers. Every completion handler catches what it could throw.
//
// Lifecycle: Start() binds and runs `threads` I/O threads; Stop() closes the listener, ends the
// sessions and joins (also done by the destructor), then waits for the slow lane's running
// requests.
// Thread-safety: the handler is called concurrently from the I/O threads and the slow lane and
// must be thread-safe; Stop() from any thread but not from inside the handler.
#pragma once

#include <chrono>
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
  // How long a request may take to arrive, and an answer to be written.
  std::chrono::milliseconds io_timeout{60000};
  int slow_threads = 4;
  size_t slow_max_pending = 64;
  // Requests that may wait go to the slow lane (RestApi::MayBlock). Unset: none.
  std::function<bool(const HttpRequest&)> may_block;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// The longest response header value written; a longer one is left out (and logged).
inline constexpr size_t kMaxResponseHeaderValueBytes = 4096;

// `value` as printable ASCII: bytes below 0x20, DEL and above 0x7E percent-encoded.
std::string SafeHeaderValue(const std::string& value);

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
