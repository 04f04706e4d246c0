#include "connectors/kafka/kafka_consumer.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "connectors/kafka/client/kafka_client.h"

namespace sluice::kafka {

namespace {
// The consumer's hints; an unlisted error keeps the code each call gives it.
client::ErrorHints ConsumerHints(core::StatusCode otherwise) {
  return {"check the kafka.consumer.sasl.* settings", "grant the consumer group the needed ACLs",
          otherwise};
}
}  // namespace

std::string SerializeOffsets(const OffsetMap& offsets) {
  nlohmann::json topics = nlohmann::json::object();
  for (const auto& [tp, offset] : offsets) topics[tp.first][std::to_string(tp.second)] = offset;
  return nlohmann::json{{"offsets", topics}}.dump();
}

core::Result<OffsetMap> ParseOffsets(std::string_view text) {
  OffsetMap out;
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    const nlohmann::json& topics = j.at("offsets");
    if (!topics.is_object()) throw std::runtime_error("\"offsets\" is not an object");
    for (const auto& [topic, partitions] : topics.items()) {
      for (const auto& [partition, offset] : partitions.items()) {
        int32_t p = 0;
        auto [ptr, ec] = std::from_chars(partition.data(), partition.data() + partition.size(), p);
        if (ec != std::errc() || ptr != partition.data() + partition.size()) {
          throw std::runtime_error("bad partition \"" + partition + "\"");
        }
        out[{topic, p}] = offset.get<int64_t>();
      }
    }
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("kafka source: the resume position '" + std::string(text) +
                                      "' is not a Kafka offsets position: " + e.what());
  }
  return out;
}

core::Result<std::unique_ptr<Consumer>> Consumer::Create(
    const std::map<std::string, std::string>& settings, const std::string& key_prefix) {
  SLUICE_ASSIGN_OR_RETURN(client::KafkaConf conf, client::MakeConf(settings, key_prefix));
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Consumer::OnRebalance);
  std::unique_ptr<Consumer> consumer(new Consumer(nullptr));
  rd_kafka_conf_set_opaque(conf.get(), consumer.get());
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) {
    consumer->closed_ = true;
    return core::InvalidArgumentError(std::string("kafka source: ") + err);
  }
  conf.release();  // owned by rk now
  consumer->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);
  return consumer;
}

Consumer::~Consumer() { Close(); }

void Consumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Partitions without a resume offset continue at the group's committed offset; those
    // without one either start at the beginning of the partition.
    rd_kafka_committed(rk, partitions, 10000);
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = partitions->elems[i];
      auto it = self ? self->resume_.find({tp.topic, tp.partition}) : OffsetMap::iterator();
      if (self && it != self->resume_.end()) {
        tp.offset = it->second;
      } else if (tp.offset < 0) {
        tp.offset = RD_KAFKA_OFFSET_BEGINNING;
      }
    }
    if (std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE") {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
  } else {
    if (std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE") {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

core::Result<std::vector<std::string>> Consumer::ListTopics(int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return client::MapError(err, "kafka source: no broker answered at kafka.bootstrap.servers",
                            "", ConsumerHints(core::StatusCode::kUnavailable));
  }
  std::vector<std::string> names;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) names.emplace_back(md->topics[i].topic);
  }
  rd_kafka_metadata_destroy(md);
  return names;
}

core::Status Consumer::Subscribe(const std::vector<std::string>& topics, OffsetMap resume) {
  resume_ = std::move(resume);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(
      static_cast<int>(topics.size()));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return client::MapError(err, "kafka source: subscribe", "",
                            ConsumerHints(core::StatusCode::kInvalidArgument));
  }
  return core::Status::Ok();
}

Message Consumer::Poll(int timeout_ms) { return Message(rd_kafka_consumer_poll(rk_, timeout_ms)); }

core::Status Consumer::Commit(const OffsetMap& offsets, bool async) {
  if (offsets.empty()) return core::Status::Ok();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(
      static_cast<int>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, async ? 1 : 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return client::MapError(err, "kafka source: commit offsets", "",
                            ConsumerHints(core::StatusCode::kUnavailable));
  }
  return core::Status::Ok();
}

void Consumer::Close() {
  if (closed_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

}  // namespace sluice::kafka
