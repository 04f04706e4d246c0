// A small TCP proxy for fault injection: it sits between sluice and a server (source or target)
// on a loopback port and, on command, cuts every connection it carries or stalls them (keeps
// them open but forwards nothing), as a flaky network or a half-open connection would.
#ifndef SLUICE_INTEGRATION_COMMON_TCP_PROXY_H_
#define SLUICE_INTEGRATION_COMMON_TCP_PROXY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::itest {

// Listens on 127.0.0.1:port() and forwards each accepted connection to 127.0.0.1:upstream_port
// (two threads per connection, blocking I/O). A connection whose upstream cannot be reached is
// closed at once, as a server that is down would refuse it.
//
//   DropAll()  cuts every open connection with a reset (SO_LINGER 0); new ones are accepted.
//   SetRateLimit(bytes_per_second)  a slow network: each direction of each connection
//              forwards at most that many bytes a second (0: unlimited).
//   CutAfterReplyTo(pattern, after)  the next client bytes containing `pattern` (e.g.
//              "COMMIT"), on a connection that has sent `after` since (e.g. a table name; empty:
//              any), are forwarded, and that connection is cut when the server's reply arrives,
//              before it is forwarded: the server did the work, the client never hears of it.
//   Stall()    stops forwarding: bytes read from either side are held, new connections are
//              accepted and connected upstream but carry nothing, until Resume() (which
//              forwards what was held) or DropAll().
//
// A StreamFilter (optional, one per connection) sees the bytes of each direction before they
// are forwarded and returns what to forward now: it may rewrite them, or hold some back until
// more arrive (to see a protocol's whole frames). It is called from both forwarding threads of
// its connection at once: each direction's state is its own, shared state needs a lock. A filter
// that throws cuts its connection.
//
// The destructor cuts everything and joins its threads. Thread-safe: every method may be called
// from any thread.
class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  virtual std::string FromClient(std::string_view bytes) = 0;
  virtual std::string FromServer(std::string_view bytes) = 0;
};

class TcpProxy {
 public:
  using FilterFactory = std::function<std::unique_ptr<StreamFilter>()>;

  // `make_filter` (optional) makes the filter of each accepted connection.
  explicit TcpProxy(int upstream_port, FilterFactory make_filter = {});
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Where new connections go (a server restarted on another port); open ones keep theirs.
  void SetUpstreamPort(int upstream_port) { upstream_port_.store(upstream_port); }

  // Returns the number of connections cut.
  int DropAll();
  void SetRateLimit(int64_t bytes_per_second) { rate_limit_.store(bytes_per_second); }
  void CutAfterReplyTo(std::string pattern, std::string after = "");
  // Connections cut by CutAfterReplyTo so far.
  int cut_after_reply() const { return cut_after_reply_.load(); }
  void Stall();
  void Resume();
  bool stalled() const;

  // Connections accepted so far, and those open now.
  uint64_t accepted() const { return accepted_.load(); }
  int open_connections() const;

 private:
  struct Connection;
  void AcceptLoop();
  void Forward(const std::shared_ptr<Connection>& conn, bool client_to_server);
  void Reap(bool all);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> upstream_port_;
  const FilterFactory make_filter_;
  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<int64_t> rate_limit_{0};

  mutable std::mutex mu_;
  std::condition_variable resumed_;  // stalled_ cleared or a connection cut
  bool stalled_ = false;
  std::string reply_cut_pattern_;  // armed by CutAfterReplyTo (empty: none)
  std::string reply_cut_after_;
  std::atomic<int> cut_after_reply_{0};
  std::vector<std::shared_ptr<Connection>> connections_;
  std::thread accept_thread_;
};

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_TCP_PROXY_H_
