#include "api/rest_json.h"

#include "api/request_guard.h"

namespace sluice::api::rest {

namespace {
// Long enough for any message Sluice writes (validation messages list keys), short enough that
// an echoed 1 MiB body cannot come back whole.
constexpr size_t kMaxMessageBytes = 4096;
}  // namespace

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse Json(int status, const json& body) { return {status, "application/json", Dump(body)}; }

HttpResponse Error(int status, const std::string& message) {
  return Json(status, {{"error_code", status}, {"message", SafeText(message, kMaxMessageBytes)}});
}

int HttpStatusFor(const core::Status& s) {
  switch (s.code()) {
    case core::StatusCode::kInvalidArgument: return 400;
    case core::StatusCode::kNotFound: return 404;
    case core::StatusCode::kAlreadyExists: return 409;
    case core::StatusCode::kFailedPrecondition: return 409;
    case core::StatusCode::kUnauthenticated: return 401;
    case core::StatusCode::kPermissionDenied: return 403;
    case core::StatusCode::kResourceExhausted: return 429;
    case core::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

HttpResponse Error(const core::Status& s) { return Error(HttpStatusFor(s), s.message()); }

HttpResponse NoContent(int status) { return {status, "application/json", ""}; }

HttpResponse MethodNotAllowed(const std::string& method, const std::string& path,
                              const std::string& allowed) {
  HttpResponse r = Error(405, "method " + method + " is not allowed on " + path +
                                  "; allowed: " + allowed);
  r.headers.emplace_back("Allow", allowed);
  return r;
}

}  // namespace sluice::api::rest
