// Change events as short text for test expectations, shared by the source tests (stream readers
// and state machines of both sources): "r shop.customers (1,ann)", "c public.b (10,ten)",
// "u public.a (1,ann)->(1,anna)" (the before image only when the event has one),
// "d shop.customers (2,bob)->", "t shop.orders". A NULL is "null", an unchanged TOASTed value "~".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/event.h"

namespace sluice::testing {

inline std::string RenderRow(const core::EventBatch& batch, uint32_t index) {
  if (index == core::kNoRow) return std::string();
  core::RowView r = batch.row(index);
  std::string out = "(";
  for (uint32_t i = 0; i < r.size(); ++i) {
    if (i) out += ',';
    out += r.is_null(i) ? "null" : r.is_unchanged(i) ? "~" : std::string(r.text(i));
  }
  return out + ")";
}

inline std::string RenderEvent(const core::EventBatch& batch, const core::ChangeEvent& e) {
  std::string before = RenderRow(batch, e.before);
  std::string rows = before.empty() ? RenderRow(batch, e.after)
                                    : before + "->" + RenderRow(batch, e.after);
  return std::string(1, static_cast<char>(e.op)) + " " + e.table->id.ToString() + (rows.empty() ? "" : " " + rows);
}

inline std::vector<std::string> RenderEvents(const core::EventBatch& batch) {
  std::vector<std::string> out;
  out.reserve(batch.events().size());
  for (const core::ChangeEvent& e : batch.events()) out.push_back(RenderEvent(batch, e));
  return out;
}

}  // namespace sluice::testing
