// A self-signed certificate for 127.0.0.1/localhost with its key, and a key of another pair,
// written to a scratch directory for the TLS tests (config loader, HTTPS server). Made once with
// the openssl CLI (EC P-256, valid 100 years); the integration tests make theirs at test time.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace pollux::testing {

inline constexpr const char* kTestCertPem = R"(-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUM0ZdCUcGq7EW9+hh+Y/PzeMLlTYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNjEzMDc0MVoYDzIxMjYxMTEy
MTMwNzQxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARp0uJcCLSLP90eyFHCXLkxgOT5BR91IzoJr307nSXWdZcvaNKRH4d7
vohNK4/KfEueoVJJ/Macfz9kbXrGpIcQo28wbTAdBgNVHQ4EFgQUT8BVI1YC70iJ
APsG41D3XzGMg7kwHwYDVR0jBBgwFoAUT8BVI1YC70iJAPsG41D3XzGMg7kwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIhAKXRdeKUa+NiiiG4Tv7m0WFyX4HQCG4DHzQWRvC9PMtHAiAh
Exh2Nc1+ivLvJnETahIM4zm7VdT7oQ/UrypUQnwjuA==
-----END CERTIFICATE-----
)";

inline constexpr const char* kTestKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgaLT7flYcBQdYz2UN
By+MpXYzUuuqaEpshIJSZ0WDRfehRANCAARp0uJcCLSLP90eyFHCXLkxgOT5BR91
IzoJr307nSXWdZcvaNKRH4d7vohNK4/KfEueoVJJ/Macfz9kbXrGpIcQ
-----END PRIVATE KEY-----
)";

// Not the certificate's key.
inline constexpr const char* kOtherKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6yOw/gp2sYt7I6qM
P4lpzoB91t4TMJ0RovemW0RSc2yhRANCAAQL4Ttns6DeY4BCqBFvursqosny8PYg
0r9JvI/gmhnof3w96XgPz9VLd+UPTip4fWbnQOKZPn01oro2n5X0eIJJ
-----END PRIVATE KEY-----
)";

// A scratch directory holding cert.pem, key.pem, other.key and garbage.pem; removed at the end.
class TlsFiles {
 public:
  TlsFiles() {
    char pattern[] = "/tmp/pollux-tls-test.XXXXXX";
    dir_ = mkdtemp(pattern);
    write("cert.pem", kTestCertPem);
    write("key.pem", kTestKeyPem);
    write("other.key", kOtherKeyPem);
    write("garbage.pem", "not a PEM file\n");
  }
  ~TlsFiles() {
    for (const char* name : {"cert.pem", "key.pem", "other.key", "garbage.pem"})
      unlink(path(name).c_str());
    rmdir(dir_.c_str());
  }
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string cert() const { return path("cert.pem"); }
  std::string key() const { return path("key.pem"); }
  std::string other_key() const { return path("other.key"); }
  std::string garbage() const { return path("garbage.pem"); }

 private:
  void write(const std::string& name, const char* text) { std::ofstream(path(name)) << text; }
  std::string dir_;
};

}  // namespace pollux::testing
