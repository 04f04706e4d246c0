// Helpers shared by the libFuzzer targets in this folder: a check that aborts with a message
// (libFuzzer then saves the input as a crash), and the sink side of a decoded batch, so that
// every decoder's output also goes through the envelope encoder the file and Kafka sinks use.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/envelope.h"
#include "core/event.h"

namespace sluice::fuzz {

// Aborts (a crash libFuzzer records) when `ok` is false.
inline void Check(bool ok, const char* what, std::string_view detail = "") {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Encodes every event of `batch` as the sinks do (key, value; the first event also with its
// schema block, which depends on the table only). Each must be valid JSON whatever the decoder
// produced; a value without an exact representation must be reported by EnvelopeValueError.
inline void EncodeAsSinksDo(const core::EventBatch& batch) {
  core::EnvelopeOptions options;
  options.name = "fuzz";
  std::string out;
  bool first = true;
  for (const core::ChangeEvent& event : batch.events()) {
    for (bool with_schema : {false, true}) {
      if (with_schema && !first) continue;
      options.include_schema = with_schema;
      options.connector = with_schema ? "mysql" : "postgresql";
      out.clear();
      bool exact = core::AppendEnvelopeJson(out, batch, event, options, 1700000000000);
      Check(nlohmann::json::accept(out), "envelope is not valid JSON", out);
      core::Status why = core::EnvelopeValueError(batch, event, options.modes);
      Check(exact == why.ok(), "AppendEnvelopeJson and EnvelopeValueError disagree", why.message());
    }
    first = false;
    out.clear();
    core::AppendKeyJson(out, batch, event);
    Check(nlohmann::json::accept(out), "key is not valid JSON", out);
  }
}

}  // namespace sluice::fuzz
