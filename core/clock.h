// Wall-clock helpers.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice::core {

// Milliseconds since the Unix epoch.
inline int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice::core
