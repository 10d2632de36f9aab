// Test certificates made with openssl(1): a CA, and certificates it signs, for the tests of
// berthd's TCP listener, which needs mutual TLS. Each fails the calling test on an error.
#ifndef BERTH_E2E_HARNESS_CERTS_H_
#define BERTH_E2E_HARNESS_CERTS_H_

#include <string>

namespace berth::e2e {

// DIR/CA.pem and DIR/CA-key.pem: a self-signed CA named `ca` (P-256, valid for a day).
void MakeCa(const std::string& dir, const std::string& ca);
// DIR/NAME.pem and DIR/NAME-key.pem: a certificate for `name` signed by DIR/CA, with
// 127.0.0.1 and localhost as subject alternative names.
void MakeCert(const std::string& dir, const std::string& ca, const std::string& name);
// The files of the TLS tests, in `dir`: CA "ca" with certificates "server" and "client", another
// CA "rogue" with "intruder", and config.yaml, a berthd config whose tls: serves "server" and
// trusts only "ca". Returns the config's path.
std::string MakeTlsFiles(const std::string& dir);

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_CERTS_H_
