// `sluice serve` in-process for tests that need real sockets: a StateStore in a temporary
// directory, the Supervisor and SyncManager with the real connector builder (tests point
// connectors at closed local ports: they fail and retry in the background), the RestApi with the
// real connection checks, and the HttpServer on a free loopback port with the slow lane wired as
// serve_command.cc does. Also BlackHolePeer: a TCP listener that accepts and never answers.
//
// Thread-safety: start and stop from the test's thread; requests from any thread.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "api/rest_api.h"
#include "api/supervisor.h"
#include "api/sync_manager.h"
#include "core/metrics.h"
#include "core/sqlite_state_store.h"

namespace sluice::testing {

class LiveService {
 public:
  // `tag` names the temporary directory.
  explicit LiveService(const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-live-" + tag + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~LiveService() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts everything; a failed step is a test failure (check ::testing::Test::HasFatalFailure).
  void Start(api::RestApiOptions api_options = {}) {
    auto store = core::SqliteStateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    api::SupervisorOptions options;
    options.worker_id = "127.0.0.1:0";
    options.stop_timeout = std::chrono::milliseconds(10000);
    supervisor_ = std::make_unique<api::Supervisor>(store_.get(), &metrics_, options);
    ASSERT_TRUE(supervisor_->Start().ok());
    syncs_ = std::make_unique<api::SyncManager>(store_.get(), &metrics_, nullptr, nullptr);
    ASSERT_TRUE(syncs_->Start().ok());
    api_ = std::make_unique<api::RestApi>(supervisor_.get(), syncs_.get(), &metrics_,
                                          std::move(api_options));
    api::HttpServerOptions http;
    http.address = "127.0.0.1";
    http.port = 0;
    http.may_block = &api::RestApi::MayBlock;
    auto server = api::HttpServer::Start(http, [this](const api::HttpRequest& r) {
      return api_->Handle(r);
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  // As serve_command.cc on SIGTERM: the gate, then the server, then the rest.
  void Stop() {
    if (supervisor_) supervisor_->Shutdown();
    if (syncs_) syncs_->Shutdown();
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    syncs_.reset();
    supervisor_.reset();
    store_.reset();
  }

  uint16_t port() const { return server_->port(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<core::StateStore> store_;
  std::unique_ptr<api::Supervisor> supervisor_;
  std::unique_ptr<api::SyncManager> syncs_;
  std::unique_ptr<api::RestApi> api_;
  std::unique_ptr<api::HttpServer> server_;
};

// A peer that completes TCP connections and then says nothing, ever: what a firewall that drops
// after the handshake or a hung server looks like to a client.
class BlackHolePeer {
 public:
  BlackHolePeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "black hole peer: cannot listen";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
          int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) accepted_.push_back(c);  // held open, never read or written
        }
      }
    });
  }
  ~BlackHolePeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int c : accepted_) ::close(c);
    if (fd_ >= 0) ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> accepted_;  // the accept thread's only
  std::thread thread_;
};

}  // namespace sluice::testing
