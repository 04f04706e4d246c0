// The offset shapes the two database sources share with Debezium (core::Source's
// OffsetPartition/ExportOffset): the partition {"server": topic.prefix}, and the offset the
// source's position type writes (PgPosition, BinlogPosition: ToDebeziumOffset). ImportOffset
// stays with each source (PostgreSQL's names the slot).
//
// Thread-safety: as core::Source; both calls are pure.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

// `Position` has `static Result<Position> Parse(const std::string&)` and
// `nlohmann::json ToDebeziumOffset() const`.
template <class Position>
class DebeziumOffsetSource : public Source {
 public:
  explicit DebeziumOffsetSource(std::string topic_prefix) : topic_prefix_(std::move(topic_prefix)) {}

  nlohmann::json OffsetPartition(const std::string& /*connector*/) const override {
    return {{"server", topic_prefix_}};
  }

  Result<nlohmann::json> ExportOffset(const SourcePosition& position) const override {
    SLUICE_ASSIGN_OR_RETURN(Position p, Position::Parse(position.value));
    return p.ToDebeziumOffset();
  }

 private:
  std::string topic_prefix_;  // topic.prefix ("sluice" when unset)
};

}  // namespace sluice::core
