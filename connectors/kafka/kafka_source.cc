#include "connectors/kafka/kafka_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "connectors/kafka/client/kafka_client.h"

namespace sluice::kafka {

std::vector<core::ConfigKey> SourceConfigKeys() {
  std::vector<core::ConfigKey> keys;
  core::ConfigKey bootstrap = core::MakeConfigKey("kafka.bootstrap.servers", core::ConfigType::kString, "",
                                  "Kafka brokers to consume from, host:port[,host:port…]");
  bootstrap.required = true;
  keys.push_back(bootstrap);
  keys.push_back(core::MakeConfigKey("kafka.topics", core::ConfigType::kList, "",
                     "comma-separated topics of change envelopes (or use kafka.topic.regex)"));
  keys.push_back(core::MakeConfigKey("kafka.topic.regex", core::ConfigType::kString, "",
                     "regular expression of the topics to consume, e.g. srv\\.public\\..*"));
  keys.push_back(core::MakeConfigKey("kafka.group.id", core::ConfigType::kString, "",
                     "consumer group (default sluice-<connector name>)"));
  keys.push_back(core::MakeConfigKey("kafka.skip.invalid.records", core::ConfigType::kBool, "false",
                     "log and skip records that are not change envelopes instead of failing"));
  core::ConfigKey pass = core::MakeConfigKey("kafka.consumer.", core::ConfigType::kString, "",
                             "any librdkafka consumer property, e.g. "
                             "kafka.consumer.security.protocol=SSL");
  pass.is_prefix = true;
  keys.push_back(pass);
  return keys;
}

core::Result<KafkaSourceOptions> KafkaSourceOptionsFromConfig(const core::ConnectorConfig& config) {
  KafkaSourceOptions o;
  std::string name = config.name().empty() ? config.Get("name", "sluice") : config.name();
  o.librdkafka = {
      {"group.id", "sluice-" + name},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // A partition without a stored offset starts at its beginning (set on assignment); a
      // stored offset the broker no longer has is an error, never a silent skip.
      {"auto.offset.reset", "error"},
      {"client.id", client::ClientId(name)},
      // Topics created after the start (a regex, or a topic the producer has not written yet)
      // are found within 10 s rather than librdkafka's 5 minutes.
      {"topic.metadata.refresh.interval.ms", "10000"},
  };
  for (const auto& [k, v] : config.WithPrefix("kafka.consumer.")) o.librdkafka[k] = v;
  o.librdkafka["bootstrap.servers"] = config.Get("kafka.bootstrap.servers");
  if (o.librdkafka["bootstrap.servers"].empty()) {
    return core::InvalidArgumentError(
        "kafka.bootstrap.servers is required for connector.class=kafka (host:port of a broker)");
  }
  if (std::string group = config.Get("kafka.group.id"); !group.empty()) {
    o.librdkafka["group.id"] = group;
  }
  if (o.librdkafka["enable.auto.commit"] == "true") {
    return core::InvalidArgumentError(
        "kafka.consumer.enable.auto.commit must stay false: offsets are committed after the "
        "sink made the events durable");
  }
  o.topics = config.GetList("kafka.topics");
  std::string regex = config.Get("kafka.topic.regex");
  if (!regex.empty()) o.topics.push_back(regex.front() == '^' ? regex : "^" + regex);
  if (o.topics.empty()) {
    return core::InvalidArgumentError(
        "connector.class=kafka needs kafka.topics or kafka.topic.regex");
  }
  SLUICE_ASSIGN_OR_RETURN(o.skip_invalid, config.GetBool("kafka.skip.invalid.records", false));
  SLUICE_ASSIGN_OR_RETURN(o.binary, core::BinaryModeFromName(config.Get("binary.handling.mode")));
  return o;
}

core::Result<std::unique_ptr<core::Source>> MakeKafkaSource(const core::ConnectorContext& context) {
  SLUICE_ASSIGN_OR_RETURN(KafkaSourceOptions options, KafkaSourceOptionsFromConfig(context.config));
  SLUICE_ASSIGN_OR_RETURN(core::TableFilter filter, core::TableFilter::FromConfig(context.config));
  return std::unique_ptr<core::Source>(
      new KafkaSource(std::move(options), std::move(filter), context.logger));
}

KafkaSource::KafkaSource(KafkaSourceOptions options, core::TableFilter filter,
                         std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), filter_(std::move(filter)), logger_(std::move(logger)) {
  decoder_.set_filter(&filter_);
  decoder_.set_binary_mode(options_.binary);
}

KafkaSource::~KafkaSource() { Close(); }

core::Status KafkaSource::Start(const std::optional<core::SourcePosition>& resume) {
  Close();
  OffsetMap from;
  if (resume && !resume->empty()) {
    SLUICE_ASSIGN_OR_RETURN(from, ParseOffsets(resume->value));
  }
  SLUICE_ASSIGN_OR_RETURN(consumer_, Consumer::Create(options_.librdkafka, "kafka.consumer."));
  auto topics = consumer_->ListTopics(10000);
  if (!topics.ok()) {
    Close();
    return topics.status();
  }
  consumed_ = from;
  SLUICE_RETURN_IF_ERROR(consumer_->Subscribe(options_.topics, std::move(from)));
  if (logger_) {
    logger_->info("kafka source: subscribed to {} as group {}{}", options_.topics.front(),
                  options_.librdkafka["group.id"], resume ? " from the stored offsets" : "");
  }
  return core::Status::Ok();
}

core::Result<core::PollStatus> KafkaSource::Poll(core::EventBatch& batch,
                                                 const core::PollLimits& limits) {
  if (!consumer_) return core::FailedPreconditionError("kafka source: Poll before Start");
  CommitAcknowledged(true);
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + limits.max_wait;
  bool got = false;
  bool full = false;
  while (!stop_.load()) {
    int wait_ms = 0;
    if (!got) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 100));
    }
    Message m = consumer_->Poll(wait_ms);
    if (!m) {
      if (got) break;
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      std::string what = rd_kafka_message_errstr(m.get());
      if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        return core::UnavailableError("kafka source: consumer failed: " + what);
      }
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        return core::DataLossError("kafka source: " + what +
                                   ": the resume offset is gone (retention); reset the "
                                   "connector's offsets to start over");
      }
      if (logger_) logger_->warn("kafka source: {}", what);
      continue;
    }
    std::string_view topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    KafkaRecord record{topic,
                       m->partition,
                       m->offset,
                       static_cast<const char*>(m->key),
                       m->key_len,
                       static_cast<const char*>(m->payload),
                       m->len};
    if (topic.ends_with(".sluice_offsets")) {
      record.value = nullptr;  // our Kafka sink's positions topic, matched by a regex
    }
    auto decoded = decoder_.Decode(record, batch);
    if (!decoded.ok()) {
      if (!options_.skip_invalid) return decoded.status();
      if (logger_) logger_->warn("skipping: {}", decoded.status().message());
    }
    consumed_[{std::string(topic), m->partition}] = m->offset + 1;
    got = true;
    if (batch.size() >= limits.max_events || batch.ByteSize() >= limits.max_bytes) {
      full = true;
      break;
    }
  }
  if (got) batch.set_checkpoint({SerializeOffsets(consumed_)});
  return full ? core::PollStatus::kHaveMore : core::PollStatus::kIdle;
}

void KafkaSource::Acknowledge(const core::SourcePosition& position) {
  std::lock_guard lock(ack_mu_);
  ack_ = position.value;
}

void KafkaSource::CommitAcknowledged(bool async) {
  std::optional<std::string> ack;
  {
    std::lock_guard lock(ack_mu_);
    ack.swap(ack_);
  }
  if (!ack || !consumer_) return;
  auto offsets = ParseOffsets(*ack);
  if (!offsets.ok()) {
    if (logger_) logger_->warn("{}", offsets.status().message());
    return;
  }
  core::Status s = consumer_->Commit(*offsets, async);
  if (!s.ok() && logger_) logger_->warn("{}", s.message());
}

void KafkaSource::RequestStop() { stop_ = true; }

void KafkaSource::Close() {
  if (!consumer_) return;
  CommitAcknowledged(false);
  consumer_->Close();
  consumer_.reset();
}

core::Status KafkaSource::Check() {
  SLUICE_ASSIGN_OR_RETURN(auto consumer, Consumer::Create(options_.librdkafka, "kafka.consumer."));
  SLUICE_ASSIGN_OR_RETURN(auto topics, consumer->ListTopics(10000));
  for (const auto& t : options_.topics) {
    if (t.front() == '^') continue;
    if (std::find(topics.begin(), topics.end(), t) == topics.end()) {
      return core::FailedPreconditionError("kafka source: topic " + t +
                                           " does not exist; check kafka.topics");
    }
  }
  return core::Status::Ok();
}

}  // namespace sluice::kafka
