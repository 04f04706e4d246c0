// A raw HTTP/1.1 client for tests of the HTTP server: it sends exactly the bytes it is given
// (malformed, huge, chunked, CRLF in values) and shows exactly the bytes that came back, so that
// tests can check headers byte by byte. Header-only; POSIX sockets on loopback.
//
// Thread-safety: a RawConnection belongs to one thread; the free functions are thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct RawResponse {
  int status = 0;        // 0: no complete response (connection closed or timed out first)
  std::string head;      // status line and headers as received, up to the blank line
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::chrono::milliseconds elapsed{0};

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Sends all of `bytes` unless the peer stops reading or closes (then false; what the server
  // answered can still be read).
  bool Send(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t sent = 0;
    while (fd_ >= 0 && sent < bytes.size()) {
      pollfd p{fd_, POLLOUT, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0 || ::poll(&p, 1, left) <= 0) return false;
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    return fd_ >= 0;
  }

  // Closes the sending side: the server reads the end of the stream after the request.
  void HalfClose() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  // Reads until `received_` holds `marker` or the connection ends or the timeout passes.
  bool ReadUntil(const std::string& marker, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(marker) == std::string::npos) {
      if (!ReadSome(deadline)) return received_.find(marker) != std::string::npos;
    }
    return true;
  }

  // Reads one final response (1xx responses are skipped, kept in `head` of none): headers, then
  // Content-Length bytes or chunks or, without either, up to the end of the connection.
  // `head`: the answer to a HEAD request, which has no body whatever Content-Length says.
  RawResponse ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                           bool head_request = false) {
    auto started = std::chrono::steady_clock::now();
    auto deadline = started + timeout;
    RawResponse r;
    for (;;) {
      size_t end;
      while ((end = received_.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadSome(deadline)) return r;
      }
      std::string head = received_.substr(0, end);
      received_.erase(0, end + 4);
      int status = ParseHead(head, &r);
      if (status >= 100 && status < 200) {
        r.headers.clear();
        continue;
      }
      r.head = head;
      std::string length = r.Header("content-length");
      bool chunked = r.Header("transfer-encoding").find("chunked") != std::string::npos;
      if (head_request) {
        // nothing follows the headers
      } else if (!length.empty()) {
        size_t want = std::strtoul(length.c_str(), nullptr, 10);
        while (received_.size() < want) {
          if (!ReadSome(deadline)) return r;
        }
        r.body = received_.substr(0, want);
        received_.erase(0, want);
      } else if (chunked) {
        if (!ReadChunks(deadline, &r.body)) return r;
      } else {
        while (ReadSome(deadline)) {
        }
        r.body = std::move(received_);
        received_.clear();
      }
      r.status = status;
      r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      return r;
    }
  }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0) return false;
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }

  bool ReadChunks(std::chrono::steady_clock::time_point deadline, std::string* body) {
    for (;;) {
      size_t eol;
      while ((eol = received_.find("\r\n")) == std::string::npos) {
        if (!ReadSome(deadline)) return false;
      }
      size_t size = std::strtoul(received_.substr(0, eol).c_str(), nullptr, 16);
      while (received_.size() < eol + 2 + size + 2) {
        if (!ReadSome(deadline)) return false;
      }
      body->append(received_, eol + 2, size);
      received_.erase(0, eol + 2 + size + 2);
      if (size == 0) return true;
    }
  }

  static int ParseHead(const std::string& head, RawResponse* r) {
    size_t eol = head.find("\r\n");
    std::string status_line = head.substr(0, eol);
    int status = 0;
    if (status_line.size() >= 12 && status_line.compare(0, 5, "HTTP/") == 0) {
      status = std::atoi(status_line.c_str() + 9);
    }
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        r->headers.emplace(name, v == std::string::npos ? "" : line.substr(v));
      }
      pos = next + 2;
    }
    return status;
  }

  int fd_ = -1;
  std::string received_;
};

// "METHOD target HTTP/1.1" with Host, the given headers, Content-Length (when there is a body)
// and Connection: close.
inline std::string BuildRequest(const std::string& method, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n" + body;
  return out;
}

// One request on a new connection.
inline RawResponse RawRequest(uint16_t port, const std::string& bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  RawConnection c(port);
  if (!c.connected()) return {};
  c.Send(bytes, timeout);
  return c.ReadResponse(timeout);
}

}  // namespace sluice::testing
