#include "integration/common/kafka_client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/common/subprocess.h"
#include "integration/common/temp_dir.h"
#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

std::optional<std::string> OptionalString(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::vector<KafkaMessage> ParseKcatJson(std::string_view output) {
  std::vector<KafkaMessage> messages;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
      KafkaMessage message;
      message.topic = object.at("topic").get<std::string>();
      message.partition = object.at("partition").get<int32_t>();
      message.offset = object.at("offset").get<int64_t>();
      message.timestamp_ms = object.value("ts", int64_t{-1});
      message.key = OptionalString(object, "key");
      message.value = OptionalString(object, "payload");
      if (auto headers = object.find("headers"); headers != object.end() && headers->is_array()) {
        for (size_t i = 0; i + 1 < headers->size(); i += 2) {
          const auto& value = (*headers)[i + 1];
          message.headers.emplace_back((*headers)[i].get<std::string>(),
                                       value.is_null() ? "" : value.get<std::string>());
        }
      }
      messages.push_back(std::move(message));
    } catch (const nlohmann::json::exception& error) {
      throw HarnessError("cannot parse kcat output line `" + std::string(line.substr(0, 300)) +
                         "`: " + error.what());
    }
  }
  return messages;
}

std::vector<KafkaMessage> ConsumeTopic(std::string_view topic, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"kcat", "-b", TestEnv::KafkaBootstrap(), "-C", "-t",
                                   std::string(topic), "-o", "beginning", "-e", "-J", "-q"};
  CommandResult result = RunCommand(argv, {.timeout = timeout});
  if (!result.Success()) throw HarnessError("consuming " + std::string(topic) + ": " + result.Describe(argv));
  std::vector<KafkaMessage> messages = ParseKcatJson(result.out);
  std::stable_sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return messages;
}

std::vector<KafkaMessage> WaitForMessages(std::string_view topic, size_t count,
                                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<KafkaMessage> messages = ConsumeTopic(topic);
    if (messages.size() >= count) return messages;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw HarnessError("timed out after " + std::to_string(timeout.count()) +
                         " ms waiting for " + std::to_string(count) + " messages in topic " +
                         std::string(topic) + "; it holds " + std::to_string(messages.size()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

void ProduceMessage(std::string_view topic, std::optional<std::string> key, std::string_view value,
                    int32_t partition) {
  TempDir dir("kcat-produce");
  std::filesystem::path file = dir / "message";
  WriteFile(file, value);
  std::vector<std::string> argv = {"kcat", "-b", TestEnv::KafkaBootstrap(), "-P", "-t",
                                   std::string(topic)};
  if (key) {
    argv.push_back("-k");
    argv.push_back(*key);
  }
  if (partition >= 0) {
    argv.push_back("-p");
    argv.push_back(std::to_string(partition));
  }
  argv.push_back(file.string());
  CommandResult result = RunCommand(argv, {.timeout = std::chrono::seconds(60)});
  if (!result.Success()) throw HarnessError("producing to " + std::string(topic) + ": " + result.Describe(argv));
}

void CreateKafkaTopic(std::string_view topic, int partitions) {
  std::string path = TestEnv::KafkaControlSocket();
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) throw HarnessError("control socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw HarnessError(std::string("socket: ") + strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval io_timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw HarnessError("cannot reach the broker's control socket " + path + ": " + strerror(errno));
  }
  std::string command = "create " + std::string(topic) + " " + std::to_string(partitions) + "\n";
  if (write(fd, command.data(), command.size()) != static_cast<ssize_t>(command.size())) {
    throw HarnessError("cannot write to the broker's control socket " + path);
  }
  std::string reply;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') reply += c;
  if (reply != "ok") {
    throw HarnessError("creating topic " + std::string(topic) + " with " +
                       std::to_string(partitions) + " partitions: " +
                       (reply.empty() ? "no reply from the broker" : reply));
  }
}

}  // namespace sluice::itest
