// `api.tls` (spec/security.md "Configuration" and "Settled details"): both files required,
// readable and parsable, the key matching the certificate; each error at its value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/tls_files.hpp"
#include "test_util.hpp"
#include "tls_test_files.hpp"

namespace pollux::config::test {
namespace {

const std::string kRest = R"(channels: [{id: C, type: tcp}]
)";

std::string config(const std::string& tls_lines) {
  return "node: {name: a}\napi:\n  listen: 127.0.0.1:8780\n  tls:\n" + tls_lines + kRest;
}

TEST(ApiTlsConfig, AMatchingPairIsTaken) {
  pollux::testing::TlsFiles f;
  const auto r = load(config("    cert_file: " + f.cert() + "\n    key_file: " + f.key() + "\n"));
  expect_ok(r);
  ASSERT_TRUE(r.config->api.tls.has_value());
  EXPECT_EQ(r.config->api.tls->cert_file, f.cert());
  EXPECT_EQ(r.config->api.tls->key_file, f.key());
}

TEST(ApiTlsConfig, NoTlsMeansPlainHttp) {
  const auto r = load("node: {name: a}\napi: {listen: 127.0.0.1:8780}\n" + kRest);
  expect_ok(r);
  EXPECT_FALSE(r.config->api.tls.has_value());
}

TEST(ApiTlsConfig, KeyOfAnotherPairIsAnErrorAtKeyFile) {
  pollux::testing::TlsFiles f;
  const std::string text =
      config("    cert_file: " + f.cert() + "\n    key_file: " + f.other_key() + "\n");
  expect_one(load(text), pos(text, f.other_key()), "does not match the certificate");
}

TEST(ApiTlsConfig, UnreadableCertIsAnErrorAtCertFile) {
  pollux::testing::TlsFiles f;
  const std::string missing = f.path("missing.pem");
  const std::string text =
      config("    cert_file: " + missing + "\n    key_file: " + f.key() + "\n");
  expect_one(load(text), pos(text, missing), "cannot read");
}

TEST(ApiTlsConfig, UnreadableKeyIsAnErrorAtKeyFile) {
  pollux::testing::TlsFiles f;
  const std::string missing = f.path("missing.key");
  const std::string text =
      config("    cert_file: " + f.cert() + "\n    key_file: " + missing + "\n");
  expect_one(load(text), pos(text, missing), "cannot read");
}

TEST(ApiTlsConfig, PemParseFailuresAreReportedAtTheirFile) {
  pollux::testing::TlsFiles f;
  const std::string bad_cert =
      config("    cert_file: " + f.garbage() + "\n    key_file: " + f.key() + "\n");
  expect_one(load(bad_cert), pos(bad_cert, f.garbage()), "holds no PEM certificate");
  const std::string bad_key =
      config("    cert_file: " + f.cert() + "\n    key_file: " + f.garbage() + "\n");
  expect_one(load(bad_key), pos(bad_key, f.garbage()), "holds no unencrypted PEM private key");
  // A key where the certificate should be is no certificate either.
  const std::string swapped =
      config("    cert_file: " + f.key() + "\n    key_file: " + f.cert() + "\n");
  expect_one(load(swapped), pos(swapped, f.key()), "holds no PEM certificate");
}

TEST(ApiTlsConfig, BothFilesAreRequired) {
  pollux::testing::TlsFiles f;
  const std::string text = config("    cert_file: " + f.cert() + "\n");
  expect_one(load(text), pos(text, "tls:"), "'tls' needs a 'key_file'");
  const std::string unknown =
      config("    cert_file: " + f.cert() + "\n    key_file: " + f.key() + "\n    ca_file: x\n");
  expect_one(load(unknown), pos(unknown, "ca_file"), "unknown key 'ca_file'");
}

TEST(TlsFiles, CheckNamesTheFieldAtFault) {
  pollux::testing::TlsFiles f;
  EXPECT_FALSE(check_tls_files(f.cert(), f.key()));
  const auto mismatch = check_tls_files(f.cert(), f.other_key());
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->field, TlsFileProblem::Field::key_file);
  const auto unreadable = check_tls_files(f.path("nope"), f.key());
  ASSERT_TRUE(unreadable);
  EXPECT_EQ(unreadable->field, TlsFileProblem::Field::cert_file);
}

}  // namespace
}  // namespace pollux::config::test
