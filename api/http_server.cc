// The only translation unit that includes Boost.Beast (slow to compile): keep it that way.
#include <utility>  // before Beast/Asio with GCC 12 in C++20 mode

#include "api/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <optional>
#include <thread>
#include <vector>

namespace sluice::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kHeaderLimitBytes = 64 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(60);

// The one place where network errors end up. Ordinary disconnects are not worth a line.
void Fail(beast::error_code ec, const char* what) {
  if (ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset) {
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

// One connection: read a request, answer it, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const HttpHandler* handler, size_t max_body_bytes)
      : stream_(std::move(socket)), handler_(handler), max_body_bytes_(max_body_bytes) {}

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(max_body_bytes_);
    parser_->header_limit(kHeaderLimitBytes);
    stream_.expires_after(kReadTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec == http::error::body_limit) {
      HttpResponse r{413, "application/json",
                     ErrorBody(413, "request body exceeds " + std::to_string(max_body_bytes_) +
                                        " bytes")};
      return Send(std::move(r), 11, false);
    }
    if (ec == http::error::header_limit) {
      return Send({431, "application/json", ErrorBody(431, "request headers are too large")}, 11,
                  false);
    }
    if (ec && IsHttpParseError(ec)) {
      return Send({400, "application/json", ErrorBody(400, "malformed http request")}, 11, false);
    }
    if (ec) return Fail(ec, "read");

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
    HttpResponse response;
    if (!ParseTarget(request.target, &request.path, &request.query)) {
      response = {400, "application/json", ErrorBody(400, "malformed request target")};
    } else {
      try {
        response = (*handler_)(request);
      } catch (const std::exception& e) {
        spdlog::error("http handler for {} {} threw: {}", request.method, request.path, e.what());
        response = {500, "application/json", ErrorBody(500, "internal error")};
      }
    }
    Send(std::move(response), req.version(), req.keep_alive());
  }

  void Send(HttpResponse response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, "sluice");
    if (!response.body.empty() || response.status != 204) {
      res->set(http::field::content_type, response.content_type);
    }
    for (const auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(response.body);
    res->prepare_payload();
    res_ = res;
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(),
                                                res_->need_eof()));
  }

  void OnWrite(bool close, beast::error_code ec, std::size_t) {
    if (ec) return Fail(ec, "write");
    if (close) return DoClose();
    res_.reset();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  const HttpHandler* handler_;
  size_t max_body_bytes_;
};

// Accepts connections and starts a session for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, const HttpHandler* handler, size_t max_body_bytes)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), handler_(handler),
        max_body_bytes_(max_body_bytes) {}

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
      std::make_shared<Session>(std::move(socket), handler_, max_body_bytes_)->Run();
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const HttpHandler* handler_;
  size_t max_body_bytes_;
};

}  // namespace

struct HttpServer::Impl {
  explicit Impl(int threads) : ioc(threads) {}
  net::io_context ioc;
  HttpHandler handler;
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
  impl->handler = std::move(handler);
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    return core::InvalidArgumentError("listen address '" + options.address +
                                      "' is not an IP address: " + ec.message());
  }
  impl->listener = std::make_shared<Listener>(impl->ioc, &impl->handler, options.max_body_bytes);
  ec = impl->listener->Open(tcp::endpoint(address, options.port));
  if (ec) {
    return core::UnavailableError("cannot listen on " + options.address + ":" +
                                  std::to_string(options.port) + ": " + ec.message());
  }
  impl->port = impl->listener->port();
  impl->listener->Run();
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
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
}

}  // namespace sluice::api
