#!/usr/bin/env python3
"""History store benchmark with PostgreSQL: starts a scratch PostgreSQL 15 server
(pollux_support.postgres, the server's default durability settings) and runs history_bench with
--pg-url, so its table has the PostgreSQL ingestion rate (goal >= 50,000 records/s over
loopback) under the SQLite figures. Other arguments go to history_bench.

  tools/bench/history_pg_bench.py [--bench build/release/tools/bench/history_bench] \\
      [history_bench options, e.g. --seconds 60 --runs 3]
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=os.path.join(ROOT, "build/release/tools/bench/history_bench"))
    args, rest = ap.parse_known_args()
    sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
    from pollux_support.postgres import Postgres  # noqa: E402

    print("reproduce: tools/build.sh release && tools/bench/history_pg_bench.py %s" %
          " ".join(rest), flush=True)
    with Postgres() as pg:
        return subprocess.run([args.bench] + rest + ["--pg-url", pg.url]).returncode


if __name__ == "__main__":
    sys.exit(main())
