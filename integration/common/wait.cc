#include "integration/common/wait.h"

#include <cstdio>

#include "integration/common/test_env.h"

namespace sluice::itest {

void ThrowWaitTimeout(std::chrono::milliseconds timeout, std::string_view what,
                      const std::string& last_message) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f", static_cast<double>(timeout.count()) / 1000.0);
  std::string text = "timed out after " + std::string(seconds) + " s waiting for: " +
                     std::string(what);
  if (!last_message.empty()) text += "; last check: " + last_message;
  throw HarnessError(text);
}

}  // namespace sluice::itest
