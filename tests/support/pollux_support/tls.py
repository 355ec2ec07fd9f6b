"""A scratch certificate authority made with the `openssl` CLI, for the HTTPS tests.

    from pollux_support.tls import TestCa
    ca = TestCa()                      # in a temporary directory, removed at exit
    ca.ca_file                         # the CA certificate (what a client trusts)
    ca.cert_file, ca.key_file          # a server certificate for 127.0.0.1 and localhost
    cert, key = ca.server("second")    # another one of the same CA (a renewed certificate)
    ca.other_ca_file                   # a CA that signed nothing: a client trusting only it fails
    ca.other_key_file                  # a key that matches no certificate

EC P-256 keys: made in milliseconds.
"""

import atexit
import os
import shutil
import subprocess
import tempfile

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


class TestCa:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pollux-ca.")
        atexit.register(shutil.rmtree, self.dir, True)
        for name in ("ca", "other-ca"):
            self._run(["openssl", "req", "-x509"] + _KEY + ["-days", "2",
                       "-addext", "basicConstraints=critical,CA:TRUE",
                       "-addext", "keyUsage=keyCertSign,cRLSign",
                       "-keyout", name + ".key", "-out", name + ".crt",
                       "-subj", "/CN=pollux-test-" + name])
        self.ca_file = self.path("ca.crt")
        self.other_ca_file = self.path("other-ca.crt")
        self.cert_file, self.key_file = self.server("server")
        self._run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-out", "other.key"])
        self.other_key_file = self.path("other.key")

    def path(self, name):
        return os.path.join(self.dir, name)

    def server(self, name, cn=None):
        """A server certificate and key signed by the CA, naming 127.0.0.1 and localhost; its
        subject CN is `cn` (default `name`). Returns (cert_file, key_file)."""
        with open(self.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        self._run(["openssl", "req"] + _KEY + ["-keyout", name + ".key", "-out", name + ".csr",
                   "-subj", "/CN=" + (cn or name)])
        self._run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
                   "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                   "-extfile", name + ".ext", "-out", name + ".crt"])
        return self.path(name + ".crt"), self.path(name + ".key")

    def _run(self, args):
        p = subprocess.run(args, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("%s exited %d:\n%s" % (" ".join(args), p.returncode,
                                                     p.stdout.decode(errors="replace")))
