// The HTTP server on real sockets with plain handlers: what a handler returns or a client sends
// can no longer end the process, split a header or hold up the I/O threads.
#include "api/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/api/raw_http.h"

namespace sluice::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::BuildRequest;
using testing::RawConnection;
using testing::RawRequest;
using testing::RawResponse;

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpHandler handler, HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    auto server = HttpServer::Start(options, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  RawResponse Get(const std::string& target) {
    return RawRequest(server_->port(), BuildRequest("GET", target, {}, ""));
  }
  std::unique_ptr<HttpServer> server_;
};

HttpResponse Echo(const HttpRequest& r) {
  return {200, "application/json", "{\"bytes\":" + std::to_string(r.body.size()) + "}"};
}

TEST_F(HttpServerTest, OversizedHeaderValueDoesNotEndTheServer) {
  // Before: Beast threw "field value too large" outside any try and the process died.
  Start([](const HttpRequest& r) {
    HttpResponse out = Echo(r);
    if (r.path == "/big") out.headers.emplace_back("Location", std::string(70000, 'x'));
    return out;
  });
  RawResponse big = Get("/big");
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.Header("location"), "") << "a header over the limit is left out";
  EXPECT_EQ(Get("/after").status, 200) << "the server still answers";
}

TEST_F(HttpServerTest, CrLfInAHeaderValueCannotSplitIt) {
  Start([](const HttpRequest& r) {
    HttpResponse out = Echo(r);
    out.headers.emplace_back("Location", "/connectors/crlf\r\nSet-Cookie: injected=1\xff");
    return out;
  });
  RawResponse r = Get("/x");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("set-cookie"), 0u) << r.head;
  EXPECT_EQ(r.Header("location"), "/connectors/crlf%0D%0ASet-Cookie: injected=1%FF");
  for (char c : r.head) {
    EXPECT_TRUE(c == '\r' || c == '\n' || (c >= 0x20 && c < 0x7F)) << r.head;
  }
}

TEST_F(HttpServerTest, AThrowingHandlerGetsA500JsonAndTheServerGoesOn) {
  Start([](const HttpRequest& r) -> HttpResponse {
    if (r.path == "/throw") throw std::runtime_error("boom");
    return Echo(r);
  });
  RawResponse r = Get("/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("\"error_code\":500"));
  EXPECT_EQ(Get("/ok").status, 200);
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  Start(&Echo);
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: 7\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(c.ReadUntil("100 Continue", std::chrono::seconds(5)))
      << "the client waits for 100 Continue before it sends the body";
  ASSERT_TRUE(c.Send("{\"a\":1}"));
  RawResponse r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"bytes\":7}");
}

TEST_F(HttpServerTest, BodiesOverTheLimitGet413Json) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  Start(&Echo, options);
  RawResponse r = RawRequest(server_->port(), BuildRequest("POST", "/x", {}, std::string(5000, 'a')));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("\"error_code\":413"));
  std::string chunked = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "1f4\r\n" + std::string(500, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(RawRequest(server_->port(), chunked).status, 413);
  std::string small = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  RawResponse ok = RawRequest(server_->port(), small);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"bytes\":5}");
  EXPECT_EQ(RawRequest(server_->port(), "GARBAGE\r\n\r\n").status, 400);
}

TEST_F(HttpServerTest, BlockingRequestsRunOffTheIoThreads) {
  std::atomic<bool> release{false};
  std::atomic<int> blocked{0};
  HttpServerOptions options;
  options.threads = 2;
  options.slow_threads = 2;
  options.slow_max_pending = 2;
  options.may_block = [](const HttpRequest& r) { return r.path == "/slow"; };
  Start(
      [&](const HttpRequest& r) {
        if (r.path == "/slow") {
          ++blocked;
          while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return Echo(r);
      },
      options);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {
      RawResponse r = RawRequest(server_->port(), BuildRequest("GET", "/slow", {}, ""),
                                 std::chrono::seconds(30));
      if (r.status == 200) ++ok;
      if (r.status == 429) ++busy;
    });
  }
  for (int i = 0; i < 400 && blocked < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(blocked, 2);
  // Two slow requests run, two wait, two are refused at once; the I/O threads stay free.
  for (int i = 0; i < 400 && busy < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(busy, 2);
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    RawResponse fast = Get("/fast");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    EXPECT_EQ(fast.status, 200);
    EXPECT_LT(ms.count(), 100);
  }
  release = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 4);
  server_.reset();  // before the locals the handler refers to go
}

TEST_F(HttpServerTest, ASlowAnswerOutlastingTheReadDeadlineIsStillWritten) {
  // The I/O timeout bounds reading a request and writing its answer, not the time a slow-lane
  // handler takes to compute it (the write gets a deadline of its own).
  HttpServerOptions options;
  options.io_timeout = std::chrono::milliseconds(300);
  options.may_block = [](const HttpRequest&) { return true; };
  Start(
      [](const HttpRequest& r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        return Echo(r);
      },
      options);
  RawResponse r = Get("/slow");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"bytes\":0}");
}

}  // namespace
}  // namespace sluice::api
