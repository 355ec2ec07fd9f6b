// Checks the API's certificate and key files the way the HTTPS server will load them
// (spec/security.md "Configuration": "TLS files must be readable and the key must match the
// certificate").
//
// The loader calls this so that `pollux check`, `pollux run` and a reload report a bad file as a
// located error (and a reload with one changes nothing) instead of the server failing later.
// It reads the files with OpenSSL's PEM readers: a certificate file is a PEM chain (the server's
// certificate first), a key file one PEM private key. No asio here: config sits below the API.
#pragma once

#include <optional>
#include <string>

namespace pollux::config {

struct TlsFileProblem {
  enum class Field { cert_file, key_file };
  Field field = Field::cert_file;  // the key whose value the error points at
  std::string message;
};

// nullopt when the pair is usable: both files readable, the certificate file holds at least one
// PEM certificate, the key file a PEM private key, and that key belongs to the first certificate.
std::optional<TlsFileProblem> check_tls_files(const std::string& cert_file,
                                              const std::string& key_file);

}  // namespace pollux::config
