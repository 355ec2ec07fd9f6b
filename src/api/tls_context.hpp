// The HTTPS server's TLS context (spec/security.md "Configuration": `api.tls`).
//
// One boost::asio::ssl::context per certificate/key pair, built when the node starts and again
// on every reload; the server hands the current one to each new connection (a shared_ptr swap),
// so connections already open keep the context they started with. The defaults follow current
// practice for a server: TLS 1.2 at least, no compression, no renegotiation, the server's
// cipher preference.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace pollux::api {

struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads the PEM certificate chain and private key. Throws TlsError naming the file and
// OpenSSL's reason when a file cannot be read or parsed, or the key does not match.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file);

}  // namespace pollux::api
