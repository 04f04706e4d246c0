// The hostile-input corpus of the REST suite (rest_hostile_test.cc): raw HTTP requests generated
// from a fixed seed, so that a run repeats exactly. Families: every route with every method;
// names with control characters, CRLF, invalid UTF-8, traversal and over-long; malformed, deeply
// nested and huge JSON; chunked bodies and Expect; wrong content types, foreign origins and
// hosts; pathological regexes in include lists; malformed HTTP; and random byte mutations of
// valid requests.
//
// Configs that would start a connector point at 127.0.0.1 port 1 (closed) and a file sink under
// `sink_dir`, so nothing leaves the machine and no name is resolved.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::testing {

struct HostileRequest {
  std::string family;  // for the summary: which kind of input this is
  std::string bytes;   // exactly what is sent
  bool head = false;   // a HEAD request: its answer has no body
  // The server may close without answering (the bytes end before a request starts).
  bool may_close_silently = false;
};

struct HostileCorpusOptions {
  uint32_t seed = 20261204;
  std::string sink_dir;       // for configs that pass validation
  size_t max_body_bytes = 1u << 20;  // the server's limit: some bodies go past it
  int random_mutations = 900;
};

std::vector<HostileRequest> GenerateHostileCorpus(const HostileCorpusOptions& options);

// A config (flat JSON object text) that passes validation and whose connector fails at once in
// the background (closed port); `extra` is spliced in as more members ("" for none).
std::string HarmlessConfig(const std::string& sink_dir, const std::string& extra = "");

}  // namespace sluice::testing
