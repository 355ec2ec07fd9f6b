#!/usr/bin/env python3
"""A stand-in for pollux-sim that ends badly on purpose, for the tests of the shared teardown
(Python NodeTestCase and the C++ SimProcess): it prints the ready line, answers {"ok": true} to
every control request and, on SIGTERM, writes its exit report, then `--stderr TEXT` on stderr
(e.g. a LeakSanitizer report) and exits with `--exit-status N`.

usage: fake_sim.py -c CONFIG --report PATH [--stderr TEXT] [--exit-status N]
"""

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--stderr", default="")
    ap.add_argument("--exit-status", type=int, default=0)
    args = ap.parse_args()

    path = os.path.join(tempfile.mkdtemp(prefix="fake_sim."), "control.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                for _ in conn.makefile("rb"):
                    conn.sendall(b'{"ok": true}\n')

    threading.Thread(target=serve, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({"ready": True, "control": "unix:" + path, "serial": {}, "tcp": {},
                      "modems": {}}), flush=True)
    stop.wait(30)
    with open(args.report, "w") as f:
        json.dump({"exit": True, "devices": {}}, f)
    server.close()
    os.unlink(path)
    os.rmdir(os.path.dirname(path))
    sys.stderr.write(args.stderr)
    sys.stderr.flush()
    os._exit(args.exit_status)


if __name__ == "__main__":
    main()
