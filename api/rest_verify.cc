// Verification jobs over REST (api/verify_manager.h), for a connector and for a one-shot sync:
//   POST /connectors/{name}/verify -> 202 {"id", ...};  GET …/verify (jobs, newest first);
//   GET …/verify/{id} (per-table progress, ETA, result);  DELETE …/verify/{id} (cancel, 202);
//   the same under /syncs/{id}/verify for a finished sync.
#include "api/request_guard.h"
#include "api/rest_api.h"
#include "api/rest_json.h"
#include "api/verify_manager.h"

namespace sluice::api {

using rest::Error;
using rest::Json;
using rest::MethodNotAllowed;

namespace {

// The routes below `base` ("/connectors/x/verify"); `owner` keys the jobs (a connector name, or
// "/syncs/<id>", which no connector name can be); `job_id` is null for `base` itself.
HttpResponse VerifyRoutes(VerifyManager& verify, const HttpRequest& request, const std::string& owner,
                          const core::ConnectorConfig& config, const std::string& base,
                          const std::string* job_id) {
  const std::string& method = request.method;
  if (job_id == nullptr) {
    if (method == "GET") return Json(200, verify.List(owner));
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
    auto id = verify.Start(owner, config, std::move(*verify_request));
    if (!id.ok()) return Error(id.status());
    auto job = verify.Get(owner, *id);
    if (!job.ok()) return Error(job.status());
    HttpResponse r = Json(202, *job);
    r.headers.emplace_back("Location", base + "/" + PercentEncodeSegment(*id));
    return r;
  }
  if (method == "GET") {
    auto job = verify.Get(owner, *job_id);
    return job.ok() ? Json(200, *job) : Error(job.status());
  }
  if (method == "DELETE") {
    core::Status s = verify.Cancel(owner, *job_id);
    if (!s.ok()) return Error(s);
    auto job = verify.Get(owner, *job_id);
    return job.ok() ? Json(202, *job) : Error(job.status());
  }
  return MethodNotAllowed(method, request.path, "GET, DELETE");
}

}  // namespace

HttpResponse RestApi::HandleVerify(const HttpRequest& request, const std::vector<std::string>& parts) {
  if (options_.verify == nullptr) return Error(404, "this server runs no verifications");
  const std::string& name = parts[1];
  auto view = supervisor_->Get(name);
  if (!view.ok()) return Error(view.status());
  return VerifyRoutes(*options_.verify, request, name, view->config,
                      "/connectors/" + PercentEncodeSegment(name) + "/verify",
                      parts.size() == 4 ? &parts[3] : nullptr);
}

HttpResponse RestApi::HandleSyncVerify(const HttpRequest& request,
                                       const std::vector<std::string>& parts) {
  if (options_.verify == nullptr) return Error(404, "this server runs no verifications");
  const std::string& sync_id = parts[1];
  auto record = syncs_->Get(sync_id);
  if (!record.ok()) return Error(record.status());
  if (request.method == "POST" && parts.size() == 3 && record->state == "RUNNING") {
    return Error(409, "sync " + sync_id + " is still running; verify it when it has finished");
  }
  auto config = core::ParseConnectorConfig(record->config_json);
  if (!config.ok()) return Error(config.status());
  return VerifyRoutes(*options_.verify, request, "/syncs/" + sync_id, *config,
                      "/syncs/" + PercentEncodeSegment(sync_id) + "/verify",
                      parts.size() == 4 ? &parts[3] : nullptr);
}

}  // namespace sluice::api
