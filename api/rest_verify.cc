// POST /connectors/{name}/verify -> 202 {"id", ...}; GET …/verify (jobs, newest first);
// GET …/verify/{id} (per-table progress, ETA, result); DELETE …/verify/{id} (cancel, 202).
#include "api/rest_api.h"
#include "api/rest_json.h"
#include "api/request_guard.h"
#include "api/verify_manager.h"

namespace sluice::api {

using rest::Error;
using rest::Json;
using rest::MethodNotAllowed;

HttpResponse RestApi::HandleVerify(const HttpRequest& request, const std::vector<std::string>& parts) {
  const std::string& name = parts[1];
  const std::string& method = request.method;
  if (options_.verify == nullptr) return Error(404, "this server runs no verifications");
  auto view = supervisor_->Get(name);
  if (!view.ok()) return Error(view.status());
  if (parts.size() == 3) {
    if (method == "GET") return Json(200, options_.verify->List(name));
    if (method != "POST") return MethodNotAllowed(method, request.path, "GET, POST");
    nlohmann::json body;
    if (!request.body.empty()) {
      body = nlohmann::json::parse(request.body, nullptr, false);
      if (body.is_discarded()) {
        return Error(400, "the body is not valid JSON; send {\"tables\": [...], \"mode\": "
                          "\"count|checksum|rows\", \"repair\": false} or nothing");
      }
    }
    auto verify_request = ParseVerifyRequest(body);
    if (!verify_request.ok()) return Error(verify_request.status());
    auto id = options_.verify->Start(name, view->config, std::move(*verify_request));
    if (!id.ok()) return Error(id.status());
    auto job = options_.verify->Get(name, *id);
    if (!job.ok()) return Error(job.status());
    HttpResponse r = Json(202, *job);
    r.headers.emplace_back("Location", "/connectors/" + PercentEncodeSegment(name) + "/verify/" + *id);
    return r;
  }
  if (parts.size() == 4) {
    const std::string& id = parts[3];
    if (method == "GET") {
      auto job = options_.verify->Get(name, id);
      return job.ok() ? Json(200, *job) : Error(job.status());
    }
    if (method == "DELETE") {
      core::Status s = options_.verify->Cancel(name, id);
      if (!s.ok()) return Error(s);
      auto job = options_.verify->Get(name, id);
      return job.ok() ? Json(202, *job) : Error(job.status());
    }
    return MethodNotAllowed(method, request.path, "GET, DELETE");
  }
  return Error(404, "no route for " + request.path);
}

}  // namespace sluice::api
