#include "integration/api/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "integration/common/itest.h"

namespace sluice::itest {

nlohmann::json HttpResult::Json() const {
  try {
    return body.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    throw HarnessError("response is not JSON (" + std::string(e.what()) + "): " + body);
  }
}

HttpResult RestClient::Call(const std::string& method, const std::string& path,
                            const std::string& body,
                            const std::vector<std::string>& extra_headers) const {
  TempDir dir;
  std::vector<std::string> argv = {"curl", "-sS", "-X", method, "-o", (dir / "body").string(),
                                   "-D", (dir / "headers").string(), "-w", "%{http_code}",
                                   "--max-time", "60"};
  if (!token_.empty()) {
    argv.push_back("-H");
    argv.push_back("Authorization: Bearer " + token_);
  }
  for (const auto& h : extra_headers) {
    argv.push_back("-H");
    argv.push_back(h);
  }
  if (!body.empty()) {
    WriteFile(dir / "request", body);
    argv.push_back("-H");
    argv.push_back("Content-Type: application/json");
    argv.push_back("--data-binary");
    argv.push_back("@" + (dir / "request").string());
  }
  argv.push_back(BaseUrl() + path);
  RunOptions options;
  options.timeout = std::chrono::seconds(90);
  CommandResult r = RunCommand(argv, options);
  HttpResult out;
  out.status = std::atoi(r.out.c_str());
  out.body = ReadFile(dir / "body");
  out.headers = ReadFile(dir / "headers");
  return out;
}

nlohmann::json RestClient::Expect(int status, const std::string& method, const std::string& path,
                                  const std::string& body) const {
  HttpResult r = Call(method, path, body);
  EXPECT_EQ(r.status, status) << method << " " << path << " answered: " << r.body;
  if (r.status != status) {
    throw HarnessError(method + " " + path + ": expected " + std::to_string(status) + ", got " +
                       std::to_string(r.status) + ": " + r.body);
  }
  return r.Json();
}

std::string RawExchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw HarnessError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw HarnessError("cannot connect to port " + std::to_string(port));
  }
  (void)!write(fd, bytes.data(), bytes.size());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace sluice::itest
