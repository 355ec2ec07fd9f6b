#include "api/tls_context.hpp"

#include <openssl/ssl.h>

namespace pollux::api {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_file,
                                                      const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // A key with a passphrase is refused instead of prompting on the service's terminal.
  SSL_CTX_set_default_passwd_cb(native, [](char*, int, int, void*) { return 0; });
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw TlsError("certificate '" + cert_file + "': " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw TlsError("key '" + key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw TlsError("the key in '" + key_file + "' does not match the certificate in '" + cert_file +
                   "'");
  return ctx;
}

}  // namespace pollux::api
