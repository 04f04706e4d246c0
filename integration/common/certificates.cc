#include "integration/common/certificates.h"

#include <chrono>
#include <fstream>
#include <utility>
#include <vector>

#include "integration/common/subprocess.h"
#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

void MustRunCommand(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv, {.timeout = std::chrono::seconds(60)});
  if (!r.Success()) throw HarnessError(r.Describe(argv));
}

}  // namespace

void MakeCertificates(const std::filesystem::path& dir, const std::string& client_cn) {
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  MustRunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", "/CN=sluice-test-ca", "-keyout", p("ca.key"), "-out", p("ca.crt")});
  std::ofstream(p("san.ext")) << "subjectAltName=IP:127.0.0.1\n";
  for (const auto& [name, cn] : {std::pair<std::string, std::string>{"server", "127.0.0.1"},
                                 std::pair<std::string, std::string>{"client", client_cn}}) {
    MustRunCommand({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                    "-keyout", p(name + ".key"), "-out", p(name + ".csr")});
    std::vector<std::string> sign = {"openssl", "x509", "-req", "-days", "2", "-in",
                                     p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
                                     "-CAcreateserial", "-out", p(name + ".crt")};
    if (name == "server") sign.insert(sign.end(), {"-extfile", p("san.ext")});
    MustRunCommand(sign);
  }
  std::filesystem::permissions(p("client.key"), std::filesystem::perms::owner_read |
                                                    std::filesystem::perms::owner_write);
}

}  // namespace sluice::itest
