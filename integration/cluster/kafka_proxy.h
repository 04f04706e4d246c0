// KafkaProxy: a TcpProxy (integration/common/tcp_proxy.h) in front of the test broker that
// carries ALL of one client's Kafka traffic, so that a test can cut one worker off from Kafka
// (a network partition) while the others still reach the broker.
//
// A Kafka client only bootstraps through the address it is given: it then connects to the
// addresses the brokers advertise in Metadata and FindCoordinator responses (the test broker
// advertises 127.0.0.1:<its port>). The proxy reads the Kafka framing of each connection
// (requests: int32 size, int16 api_key, int16 api_version, int32 correlation_id; responses:
// int32 size, int32 correlation_id), and in the responses to Metadata (api key 3) and
// FindCoordinator (api key 10) requests replaces the broker's port with its own wherever the
// host "127.0.0.1" is followed by that port. A host string is followed by its int32 port in
// both the classic (int16 length) and the flexible (compact, uvarint length) encodings, so the
// rewrite changes 4 bytes and no length, whatever versions the client negotiated.
//
// Partition() stops forwarding in both directions with every socket kept open (a black hole,
// as a dropped network; new connections are accepted and carry nothing); Heal() forwards again,
// starting with what was held (TCP would retransmit it).
//
// Thread-safety: every method from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "integration/common/tcp_proxy.h"

namespace sluice::itest {

class KafkaProxy {
 public:
  // `bootstrap`: the broker, "127.0.0.1:<port>" (a single-broker cluster: the test broker as
  // integration/servers/up.sh starts it).
  explicit KafkaProxy(const std::string& bootstrap);

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(proxy_.port()); }
  void Partition() { proxy_.Stall(); }
  void Heal() { proxy_.Resume(); }
  // Metadata and FindCoordinator responses whose broker address was rewritten so far: more than
  // zero shows that the client's traffic goes through the proxy.
  uint64_t rewritten() const { return rewritten_->load(); }

 private:
  std::shared_ptr<std::atomic<uint64_t>> rewritten_ = std::make_shared<std::atomic<uint64_t>>(0);
  TcpProxy proxy_;
};

}  // namespace sluice::itest
