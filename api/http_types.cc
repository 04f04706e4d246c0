#include "api/http_types.h"

#include "core/text_codec.h"

namespace sluice::api {

namespace {

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  std::optional<std::string> decoded = core::PercentDecode(in, plus_is_space);
  if (!decoded) return false;
  *out = std::move(*decoded);
  return true;
}

}  // namespace

bool ParseTarget(const std::string& target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query) {
  if (target.empty() || target[0] != '/') return false;
  size_t q = target.find('?');
  std::string_view raw_path = std::string_view(target).substr(0, q);
  if (!PercentDecode(raw_path, false, path)) return false;
  query->clear();
  if (q == std::string::npos) return true;
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key, value;
    if (!PercentDecode(part.substr(0, eq), true, &key)) return false;
    if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), true, &value)) {
      return false;
    }
    query->emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace sluice::api
