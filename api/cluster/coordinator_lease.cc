#include "api/cluster/coordinator_lease.h"

#include <time.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace sluice::api::cluster {

int64_t CoordinatorLease::NowUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void CoordinatorLease::Renew(int64_t at_us) {
  contact_us_ = std::max(contact_us_, at_us);
  fenced_at_us_ = 0;
}

std::optional<std::string> CoordinatorLease::Observe(std::string_view report) {
  const nlohmann::json stats = nlohmann::json::parse(report, nullptr, /*allow_exceptions=*/false);
  if (!stats.is_object()) return "not a JSON object";
  auto ts = stats.find("ts");
  if (ts == stats.end() || !ts->is_number_integer()) return "no integer \"ts\"";
  auto cgrp = stats.find("cgrp");
  if (cgrp == stats.end() || !cgrp->is_object()) return "no \"cgrp\" object";
  auto join_state = cgrp->find("join_state");
  auto rebalances = cgrp->find("rebalance_cnt");
  if (join_state == cgrp->end() || !join_state->is_string() || rebalances == cgrp->end() ||
      !rebalances->is_number_integer()) {
    return "no \"cgrp.join_state\" string and \"cgrp.rebalance_cnt\" integer";
  }
  auto brokers = stats.find("brokers");
  if (brokers == stats.end() || !brokers->is_object()) return "no \"brokers\" object";
  const int64_t at = ts->get<int64_t>();
  auto coordinator = brokers->find("GroupCoordinator");
  if (coordinator != brokers->end() && coordinator->is_object() &&
      coordinator->value("state", "") == "UP") {
    // rxidle is -1 until the connection's first receive.
    const int64_t idle = coordinator->value("rxidle", int64_t{-1});
    if (idle >= 0) contact_us_ = std::max(contact_us_, at - idle);
  }
  report_us_ = std::max(report_us_, at);
  join_state_ = join_state->get<std::string>();
  rebalances_ = rebalances->get<int64_t>();
  // Only reports taken after a fence count towards lifting it.
  if (fenced() && at <= fenced_at_us_) return std::nullopt;
  const bool answered = at - contact_us_ <= 2 * heartbeat_us_;
  if (join_state_ == "steady" && answered) {
    if (steady_since_us_ == 0) steady_since_us_ = at;
  } else {
    steady_since_us_ = 0;
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> CoordinatorLease::Expired(int64_t now_us) const {
  if (contact_us_ == 0 || now_us - contact_us_ <= timeout_us_) return std::nullopt;
  return Silence(now_us);
}

void CoordinatorLease::Fenced(int64_t now_us) {
  fenced_at_us_ = now_us;
  fenced_rebalances_ = rebalances_;
  steady_since_us_ = 0;
}

bool CoordinatorLease::Confirmed() {
  if (!fenced() || contact_us_ <= fenced_at_us_ || rebalances_ != fenced_rebalances_ ||
      steady_since_us_ == 0 || report_us_ - steady_since_us_ < 2 * heartbeat_us_) {
    return false;
  }
  fenced_at_us_ = 0;
  return true;
}

std::chrono::milliseconds CoordinatorLease::SilenceSince(int64_t contact_us, int64_t now_us) {
  return std::chrono::milliseconds(contact_us == 0 ? 0
                                                   : std::max<int64_t>(now_us - contact_us, 0) / 1000);
}

}  // namespace sluice::api::cluster
