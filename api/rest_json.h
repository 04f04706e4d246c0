// Internal to the REST handlers (rest_api.cc, rest_routes.cc, rest_validate.cc): building JSON
// replies that can never throw and never carry raw request bytes.
//
// Every reply is serialised with nlohmann's error_handler_t::replace, so invalid UTF-8 anywhere
// in it (a name, a config value, a parser's message quoting the body) becomes U+FFFD instead of
// an exception and a 500. Error messages also go through SafeText: control characters (CR, LF)
// are shown as escapes, so a message quoting a request cannot forge lines where it is logged.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "core/status.h"

namespace sluice::api::rest {

using nlohmann::json;

// `value` as compact JSON text; invalid UTF-8 is replaced, never thrown about.
std::string Dump(const json& value);

HttpResponse Json(int status, const json& body);
// {"error_code": status, "message": SafeText(message)}.
HttpResponse Error(int status, const std::string& message);
// The status's HTTP code (kInvalidArgument 400, kNotFound 404, kAlreadyExists and
// kFailedPrecondition 409, kUnavailable 503, …) and message.
HttpResponse Error(const core::Status& status);
int HttpStatusFor(const core::Status& status);
HttpResponse NoContent(int status);
HttpResponse MethodNotAllowed(const std::string& method, const std::string& path,
                              const std::string& allowed);

}  // namespace sluice::api::rest
