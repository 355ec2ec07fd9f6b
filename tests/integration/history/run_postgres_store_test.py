#!/usr/bin/env python3
"""Runs the history store contract on a real PostgreSQL: starts a scratch server
(pollux_support.postgres), runs the gtest binary given as the first argument with the server's
URL in POLLUX_TEST_PG_URL (further arguments go to the binary), stops the server, and exits with
the binary's status.

    run_postgres_store_test.py build/release/tests/integration/history/history_postgres_store_test
"""

import os
import subprocess
import sys

from pollux_support.postgres import Postgres


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with Postgres(durable=False) as pg:
        env = dict(os.environ, POLLUX_TEST_PG_URL=pg.url)
        rc = subprocess.run(sys.argv[1:], env=env, timeout=150).returncode
        if rc != 0:
            print("--- PostgreSQL log ---\n" + pg.log_text()[-4000:], file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
