// Throwaway TLS certificates for tests of encrypted connections, made by `openssl` (run as a
// subprocess): a certificate authority, a server certificate for 127.0.0.1 and a client
// certificate, all signed by that authority and valid for two days.
#ifndef SLUICE_INTEGRATION_COMMON_CERTIFICATES_H_
#define SLUICE_INTEGRATION_COMMON_CERTIFICATES_H_

#include <filesystem>
#include <string>

namespace sluice::itest {

// Writes into `dir`: ca.crt/ca.key, server.crt/server.key (subjectAltName IP:127.0.0.1) and
// client.crt/client.key (CN=`client_cn`), PEM; the client key readable by its owner only (libpq
// refuses others). HarnessError when openssl fails.
void MakeCertificates(const std::filesystem::path& dir, const std::string& client_cn);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_CERTIFICATES_H_
