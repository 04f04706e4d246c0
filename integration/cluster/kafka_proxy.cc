#include "integration/cluster/kafka_proxy.h"

#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

constexpr int16_t kMetadata = 3;
constexpr int16_t kFindCoordinator = 10;
// Larger than any frame the clients here send or receive; a bigger size means the stream is not
// Kafka framing as understood here.
constexpr int32_t kMaxFrame = 256 << 20;

uint32_t ReadBe32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// Cuts a byte stream into Kafka frames (int32 size, then that many bytes).
class Framer {
 public:
  // Appends `bytes` and calls `frame` with each frame now complete (size prefix included);
  // returns what to forward: the complete frames, each as `frame` left it.
  template <typename OnFrame>
  std::string Feed(std::string_view bytes, OnFrame&& frame) {
    buffer_.append(bytes);
    std::string out;
    size_t at = 0;
    while (buffer_.size() - at >= 4) {
      const auto size = static_cast<int32_t>(ReadBe32(buffer_, at));
      if (size < 0 || size > kMaxFrame) {
        throw HarnessError("kafka proxy: frame size " + std::to_string(size) +
                           " is not Kafka framing");
      }
      if (buffer_.size() - at < 4 + static_cast<size_t>(size)) break;
      std::string f = buffer_.substr(at, 4 + static_cast<size_t>(size));
      frame(f);
      out += f;
      at += 4 + static_cast<size_t>(size);
    }
    buffer_.erase(0, at);
    return out;
  }

 private:
  std::string buffer_;  // the incomplete frame at the end of what arrived
};

// One connection: remembers each request's api key by correlation id and rewrites the broker's
// advertised port in the responses that carry broker addresses.
class KafkaRewriter final : public StreamFilter {
 public:
  KafkaRewriter(int broker_port, int proxy_port, std::shared_ptr<std::atomic<uint64_t>> rewritten)
      : advertised_("127.0.0.1" + Be32(static_cast<uint32_t>(broker_port))),
        replacement_(Be32(static_cast<uint32_t>(proxy_port))),
        rewritten_(std::move(rewritten)) {}

  std::string FromClient(std::string_view bytes) override {
    return requests_.Feed(bytes, [&](const std::string& f) {
      if (f.size() < 12) return;  // size, api_key, api_version, correlation_id
      const auto api_key = static_cast<int16_t>((static_cast<uint8_t>(f[4]) << 8) |
                                                static_cast<uint8_t>(f[5]));
      std::lock_guard lock(mu_);
      api_keys_[static_cast<int32_t>(ReadBe32(f, 8))] = api_key;
    });
  }

  std::string FromServer(std::string_view bytes) override {
    return responses_.Feed(bytes, [&](std::string& f) {
      if (f.size() < 8) return;  // size, correlation_id
      std::optional<int16_t> api_key;
      {
        std::lock_guard lock(mu_);
        auto it = api_keys_.find(static_cast<int32_t>(ReadBe32(f, 4)));
        if (it == api_keys_.end()) return;
        api_key = it->second;
        api_keys_.erase(it);
      }
      if (*api_key != kMetadata && *api_key != kFindCoordinator) return;
      bool changed = false;
      for (size_t at = f.find(advertised_, 8); at != std::string::npos;
           at = f.find(advertised_, at + advertised_.size())) {
        f.replace(at + advertised_.size() - 4, 4, replacement_);
        changed = true;
      }
      if (changed) ++*rewritten_;
    });
  }

 private:
  const std::string advertised_;   // "127.0.0.1" then the broker's port as int32
  const std::string replacement_;  // the proxy's port as int32
  std::shared_ptr<std::atomic<uint64_t>> rewritten_;
  Framer requests_;   // the client -> server thread's
  Framer responses_;  // the server -> client thread's
  std::mutex mu_;     // guards api_keys_ (written by one thread, read by the other)
  std::map<int32_t, int16_t> api_keys_;  // correlation id -> api key of requests in flight
};

int BrokerPort(const std::string& bootstrap) {
  const std::string prefix = "127.0.0.1:";
  if (bootstrap.rfind(prefix, 0) != 0 || bootstrap.find(',') != std::string::npos) {
    throw HarnessError("kafka proxy: expected one broker at 127.0.0.1:<port>, got '" +
                       bootstrap + "'");
  }
  return std::stoi(bootstrap.substr(prefix.size()));
}

}  // namespace

KafkaProxy::KafkaProxy(const std::string& bootstrap)
    : proxy_(BrokerPort(bootstrap), [this, broker = BrokerPort(bootstrap)] {
        return std::make_unique<KafkaRewriter>(broker, proxy_.port(), rewritten_);
      }) {}

}  // namespace sluice::itest
