#include "config/tls_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace pollux::config {

namespace {

using Field = TlsFileProblem::Field;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// OpenSSL's reason for the last failure (its queue emptied), or `otherwise`.
std::string openssl_reason(const char* otherwise) {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return otherwise;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : otherwise;
}

// The whole file, or a problem at `field` when it cannot be read (missing, no permission, a
// directory).
std::optional<std::string> read_file(const std::string& path, Field field,
                                     std::optional<TlsFileProblem>& problem) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    problem = TlsFileProblem{field, "cannot read '" + path + "': " + std::strerror(errno)};
    return std::nullopt;
  }
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0)
    text.append(buf, n);
  if (std::ferror(f.get())) {
    problem = TlsFileProblem{field, "cannot read '" + path + "': " + std::strerror(errno)};
    return std::nullopt;
  }
  return text;
}

std::unique_ptr<BIO, BioFree> memory_bio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

std::optional<TlsFileProblem> check_tls_files(const std::string& cert_file,
                                              const std::string& key_file) {
  std::optional<TlsFileProblem> problem;
  const auto cert_text = read_file(cert_file, Field::cert_file, problem);
  if (!cert_text) return problem;
  const auto key_text = read_file(key_file, Field::key_file, problem);
  if (!key_text) return problem;

  ERR_clear_error();
  auto cert_bio = memory_bio(*cert_text);
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return TlsFileProblem{Field::cert_file, "'" + cert_file + "' holds no PEM certificate (" +
                                                openssl_reason("no certificate found") + ")"};
  // The rest of the chain must parse too: the server sends it.
  while (true) {
    std::unique_ptr<X509, X509Free> extra(
        PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    if (extra) continue;
    const unsigned long code = ERR_peek_last_error();
    if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
      ERR_clear_error();  // the end of the file
      break;
    }
    return TlsFileProblem{Field::cert_file, "'" + cert_file + "': a certificate after the first " +
                                                "cannot be read (" + openssl_reason("bad PEM") +
                                                ")"};
  }

  auto key_bio = memory_bio(*key_text);
  // An empty passphrase callback: an encrypted key is refused instead of prompting on a tty.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key)
    return TlsFileProblem{Field::key_file, "'" + key_file +
                                               "' holds no unencrypted PEM private key (" +
                                               openssl_reason("no key found") + ")"};
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return TlsFileProblem{
        Field::key_file,
        "the key in '" + key_file + "' does not match the certificate in '" + cert_file + "'"};
  }
  return std::nullopt;
}

}  // namespace pollux::config
