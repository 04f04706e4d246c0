// The only translation unit that includes Boost.Beast (slow to compile): keep it that way.
#include <utility>  // before Beast/Asio with GCC 12 in C++20 mode

#include "api/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <optional>
#include <thread>
#include <vector>

#include "api/worker_pool.h"

namespace sluice::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kHeaderLimitBytes = 64 * 1024;
// After an error answered before the body was read, the rest of the request is read and dropped
// (up to this much, for this long) before closing, so that the client sees the answer rather
// than a reset.
constexpr size_t kDrainBytes = 8u << 20;
constexpr auto kDrainTimeout = std::chrono::seconds(2);

// The one place where network errors end up. Ordinary disconnects are not worth a line.
void Fail(beast::error_code ec, const char* what) {
  if (ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe) {
    return;
  }
  spdlog::debug("http {}: {}", what, ec.message());
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

std::string ErrorBody(int code, const std::string& message) {
  // Hand-written to keep nlohmann out of this slow TU; messages here are fixed ASCII text.
  return "{\"error_code\":" + std::to_string(code) + ",\"message\":\"" + message + "\"}";
}

// What every session shares: the handler, the slow lane and the limits.
struct ServerContext {
  HttpHandler handler;
  std::function<bool(const HttpRequest&)> may_block;
  std::unique_ptr<WorkerPool> slow_lane;
  size_t max_body_bytes = 0;
  // Each read of a request and each write of an answer gets this long; set again before each
  // write, since a slow-lane request may have used up the read's deadline.
  std::chrono::milliseconds io_timeout{60000};
};

HttpResponse CallHandler(const ServerContext& context, const HttpRequest& request) {
  try {
    return context.handler(request);
  } catch (...) {
    spdlog::error("{}", core::ExceptionToStatus("http handler for " + request.method,
                                                std::current_exception()).message());
  }
  return {500, "application/json", ErrorBody(500, "internal error; see the server log")};
}

// One connection: read a request, answer it, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const ServerContext* context)
      : stream_(std::move(socket)), context_(context) {}

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    head_request_ = false;
    parser_.emplace();
    parser_->body_limit(context_->max_body_bytes);
    parser_->header_limit(kHeaderLimitBytes);
    stream_.expires_after(context_->io_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // Answers a read error; true when there was one.
  bool AnswerReadError(beast::error_code ec) {
    if (!ec) return false;
    if (ec == http::error::end_of_stream) {
      DoClose();
    } else if (ec == http::error::body_limit) {
      Send({413, "application/json",
            ErrorBody(413, "request body exceeds " + std::to_string(context_->max_body_bytes) +
                               " bytes")},
           11, false, true);
    } else if (ec == http::error::header_limit) {
      Send({431, "application/json", ErrorBody(431, "request headers are too large")}, 11, false,
           true);
    } else if (IsHttpParseError(ec)) {
      Send({400, "application/json", ErrorBody(400, "malformed http request")}, 11, false, true);
    } else {
      Fail(ec, "read");
    }
    return true;
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    try {
      if (AnswerReadError(ec)) return;
      const auto& req = parser_->get();
      if (beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done()) {
        auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                       req.version());
        http::async_write(stream_, *cont,
                          [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
                            if (wec) return Fail(wec, "write 100-continue");
                            self->ReadBody();
                          });
        return;
      }
      ReadBody();
    } catch (const std::exception& e) {
      spdlog::error("http: reading a request failed: {}", e.what());
      DoClose();
    }
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    try {
      if (AnswerReadError(ec)) return;
      http::request<http::string_body>& req = parser_->get();
      HttpRequest request;
      request.method = std::string(req.method_string());
      request.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers[name] = std::string(field.value());
      }
      request.body = std::move(req.body());
      unsigned version = req.version();
      bool keep_alive = req.keep_alive();
      head_request_ = req.method() == http::verb::head;
      if (!ParseTarget(request.target, &request.path, &request.query)) {
        return Send({400, "application/json", ErrorBody(400, "malformed request target")}, version,
                    keep_alive, false);
      }
      if (context_->may_block && context_->may_block(request)) {
        auto self = shared_from_this();
        auto job = [self, request = std::move(request), version, keep_alive] {
          HttpResponse response = CallHandler(*self->context_, request);
          net::post(self->stream_.get_executor(),
                    [self, response = std::move(response), version, keep_alive]() mutable {
                      self->Send(std::move(response), version, keep_alive, false);
                    });
        };
        if (!context_->slow_lane->TrySubmit(std::move(job))) {
          HttpResponse busy{429, "application/json",
                            ErrorBody(429, "too many requests in progress; retry shortly")};
          busy.headers.emplace_back("Retry-After", "1");
          Send(std::move(busy), version, keep_alive, false);
        }
        return;
      }
      Send(CallHandler(*context_, request), version, keep_alive, false);
    } catch (const std::exception& e) {
      spdlog::error("http: handling a request failed: {}", e.what());
      Send({500, "application/json", ErrorBody(500, "internal error; see the server log")}, 11,
           false, false);
    }
  }

  // `head`: answer to a HEAD request, with the headers of the full answer and no body.
  static std::shared_ptr<http::response<http::string_body>> Build(HttpResponse& response,
                                                                  unsigned version,
                                                                  bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, "sluice");
    if (!response.body.empty() || response.status != 204) {
      res->set(http::field::content_type, SafeHeaderValue(response.content_type));
    }
    for (const auto& [name, value] : response.headers) {
      std::string safe = SafeHeaderValue(value);
      if (safe.size() > kMaxResponseHeaderValueBytes) {
        spdlog::warn("http: response header {} left out: {} bytes", SafeHeaderValue(name),
                     safe.size());
        continue;
      }
      res->set(SafeHeaderValue(name), safe);
    }
    res->keep_alive(keep_alive);
    res->body() = std::move(response.body);
    res->prepare_payload();
    if (head) res->body().clear();  // Content-Length stays that of the full answer
    return res;
  }

  // `drain`: the request's body was not read; read and drop it after answering, then close.
  void Send(HttpResponse response, unsigned version, bool keep_alive, bool drain) {
    if (drain) keep_alive = false;
    try {
      res_ = Build(response, version, keep_alive, head_request_);
    } catch (const std::exception& e) {
      spdlog::error("http: cannot build a {} response: {}", response.status, e.what());
      HttpResponse fallback{500, "application/json",
                            ErrorBody(500, "the response could not be built; see the server log")};
      try {
        keep_alive = false;
        res_ = Build(fallback, version, false, head_request_);
      } catch (const std::exception&) {
        return DoClose();
      }
    }
    stream_.expires_after(context_->io_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(),
                                                res_->need_eof() || !keep_alive, drain));
  }

  void OnWrite(bool close, bool drain, beast::error_code ec, std::size_t) {
    if (ec) return Fail(ec, "write");
    res_.reset();
    if (drain) return Drain();
    if (close) return DoClose();
    DoRead();
  }

  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kDrainTimeout);
    drain_buffer_.resize(64 * 1024);
    DoDrain();
  }

  void DoDrain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kDrainBytes) return;  // closed on exit
                              self->DoDrain();
                            });
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  bool head_request_ = false;  // the request being answered is a HEAD
  std::vector<char> drain_buffer_;
  size_t drained_ = 0;
  const ServerContext* context_;
};

// Accepts connections and starts a session for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, const ServerContext* context)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), context_(context) {}

  beast::error_code Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return ec;
    acceptor_.bind(endpoint, ec);
    if (ec) return ec;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void Run() { DoAccept(); }

  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec) {
      Fail(ec, "accept");
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    } else {
      try {
        std::make_shared<Session>(std::move(socket), context_)->Run();
      } catch (const std::exception& e) {
        spdlog::error("http: cannot start a session: {}", e.what());
      }
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const ServerContext* context_;
};

}  // namespace

std::string SafeHeaderValue(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

struct HttpServer::Impl {
  explicit Impl(int threads) : ioc(threads) {}
  net::io_context ioc;
  ServerContext context;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopped{false};
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                            HttpHandler handler) {
  int threads = options.threads < 1 ? 1 : options.threads;
  auto impl = std::make_unique<Impl>(threads);
  impl->context.handler = std::move(handler);
  impl->context.may_block = options.may_block;
  impl->context.max_body_bytes = options.max_body_bytes;
  impl->context.io_timeout = options.io_timeout;
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    return core::InvalidArgumentError("listen address '" + options.address +
                                      "' is not an IP address: " + ec.message());
  }
  impl->listener = std::make_shared<Listener>(impl->ioc, &impl->context);
  ec = impl->listener->Open(tcp::endpoint(address, options.port));
  if (ec) {
    return core::UnavailableError("cannot listen on " + options.address + ":" +
                                  std::to_string(options.port) + ": " + ec.message());
  }
  impl->context.slow_lane =
      std::make_unique<WorkerPool>("http slow lane", options.slow_threads, options.slow_max_pending);
  impl->port = impl->listener->port();
  impl->listener->Run();
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] {
      // A completion handler that throws would otherwise end the thread and the process.
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (...) {
          spdlog::error("{}", core::ExceptionToStatus("http: an I/O handler",
                                                      std::current_exception()).message());
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  impl_->listener->Close();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  // Slow-lane requests still running finish (their responses are posted to the stopped
  // io_context and dropped); queued ones are dropped.
  impl_->context.slow_lane->Shutdown();
}

}  // namespace sluice::api
