#include "integration/common/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <iostream>
#include <string_view>

#include "integration/common/test_env.h"

namespace sluice::itest {

struct TcpProxy::Connection {
  int client_fd = -1;
  int server_fd = -1;
  std::atomic<bool> cut{false};
  std::atomic<int> finished{0};  // directions that have ended (2: both threads are done)
  std::atomic<bool> cut_on_reply{false};  // CutAfterReplyTo matched on this connection
  bool sent_after = false;                // it sent CutAfterReplyTo's `after` (under mu_)
  std::unique_ptr<StreamFilter> filter;  // null: bytes pass unchanged
  std::thread to_server;
  std::thread to_client;
};

namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// close() then sends a reset instead of a FIN: the peer sees the connection cut, not ended.
void SetResetOnClose(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int upstream_port, FilterFactory make_filter)
    : upstream_port_(upstream_port), make_filter_(std::move(make_filter)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw HarnessError(std::string("tcp proxy: socket: ") + strerror(errno));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = Loopback(0);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0) {
    std::string why = strerror(errno);
    close(listen_fd_);
    throw HarnessError("tcp proxy: cannot listen on 127.0.0.1: " + why);
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  closing_ = true;
  // Wakes the blocked accept() (it fails with EINVAL on a shut-down socket).
  shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  DropAll();
  Reap(true);
}

void TcpProxy::AcceptLoop() {
  while (!closing_) {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    ++accepted_;
    Reap(false);
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(upstream_port_.load());
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      // The server is down: the client sees its connection refused (reset at once).
      if (server >= 0) close(server);
      SetResetOnClose(client);
      close(client);
      continue;
    }
    SetNoDelay(client);
    SetNoDelay(server);
    auto conn = std::make_shared<Connection>();
    conn->client_fd = client;
    conn->server_fd = server;
    if (make_filter_) conn->filter = make_filter_();
    std::lock_guard lock(mu_);
    connections_.push_back(conn);
    conn->to_server = std::thread([this, conn] { Forward(conn, true); });
    conn->to_client = std::thread([this, conn] { Forward(conn, false); });
  }
}

void TcpProxy::Forward(const std::shared_ptr<Connection>& conn, bool client_to_server) {
  const int from = client_to_server ? conn->client_fd : conn->server_fd;
  const int to = client_to_server ? conn->server_fd : conn->client_fd;
  std::vector<char> buffer(64 * 1024);
  while (!conn->cut) {
    const int64_t rate = rate_limit_.load();
    // Small reads when limited, so that the pace is even.
    const size_t want = rate > 0 ? std::min<size_t>(buffer.size(), 8 * 1024) : buffer.size();
    ssize_t n = recv(from, buffer.data(), want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    {
      // Held here while stalled: the bytes are read but not forwarded.
      std::unique_lock lock(mu_);
      resumed_.wait(lock, [&] { return !stalled_ || conn->cut || closing_; });
    }
    if (!client_to_server && conn->cut_on_reply) {
      // The reply to the armed request: let the server finish what it received, then cut
      // without forwarding a byte of it.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      conn->cut = true;
      SetResetOnClose(conn->client_fd);
      SetResetOnClose(conn->server_fd);
      ++cut_after_reply_;
      break;
    }
    if (client_to_server) {
      // Marked before the bytes go out, so that no reply can slip through first.
      std::lock_guard lock(mu_);
      const std::string_view sent(buffer.data(), static_cast<size_t>(n));
      if (!reply_cut_pattern_.empty()) {
        if (reply_cut_after_.empty() || sent.find(reply_cut_after_) != std::string_view::npos) {
          conn->sent_after = true;
        }
        if (conn->sent_after && sent.find(reply_cut_pattern_) != std::string_view::npos) {
          reply_cut_pattern_.clear();
          conn->cut_on_reply = true;
        }
      }
    }
    std::string_view out(buffer.data(), static_cast<size_t>(n));
    std::string filtered;
    if (conn->filter) {
      try {
        filtered = client_to_server ? conn->filter->FromClient(out) : conn->filter->FromServer(out);
      } catch (const std::exception& e) {
        // Nothing escapes this thread: the connection is cut, as a broken peer would be.
        std::cerr << "tcp proxy: connection cut: " << e.what() << std::endl;
        break;
      }
      out = filtered;
    }
    if (conn->cut || !SendAll(to, out.data(), out.size())) break;
    if (rate > 0) std::this_thread::sleep_for(std::chrono::microseconds(n * 1'000'000 / rate));
  }
  // One side ended or failed: end the other too (neither protocol here uses half-closed
  // connections), which also wakes the thread of the other direction.
  shutdown(conn->client_fd, SHUT_RDWR);
  shutdown(conn->server_fd, SHUT_RDWR);
  ++conn->finished;
}

int TcpProxy::DropAll() {
  int cut = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& conn : connections_) {
      if (conn->finished.load() == 2 || conn->cut.exchange(true)) continue;
      ++cut;
      SetResetOnClose(conn->client_fd);
      SetResetOnClose(conn->server_fd);
      shutdown(conn->client_fd, SHUT_RDWR);
      shutdown(conn->server_fd, SHUT_RDWR);
    }
  }
  resumed_.notify_all();
  return cut;
}

void TcpProxy::CutAfterReplyTo(std::string pattern, std::string after) {
  std::lock_guard lock(mu_);
  reply_cut_pattern_ = std::move(pattern);
  reply_cut_after_ = std::move(after);
  for (const auto& conn : connections_) conn->sent_after = false;
}

void TcpProxy::Stall() {
  std::lock_guard lock(mu_);
  stalled_ = true;
}

void TcpProxy::Resume() {
  {
    std::lock_guard lock(mu_);
    stalled_ = false;
  }
  resumed_.notify_all();
}

bool TcpProxy::stalled() const {
  std::lock_guard lock(mu_);
  return stalled_;
}

int TcpProxy::open_connections() const {
  std::lock_guard lock(mu_);
  int open = 0;
  for (const auto& conn : connections_) open += conn->finished.load() < 2;
  return open;
}

void TcpProxy::Reap(bool all) {
  std::vector<std::shared_ptr<Connection>> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (all || (*it)->finished.load() == 2) {
        done.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& conn : done) {
    if (conn->to_server.joinable()) conn->to_server.join();
    if (conn->to_client.joinable()) conn->to_client.join();
    close(conn->client_fd);
    close(conn->server_fd);
  }
}

}  // namespace sluice::itest
