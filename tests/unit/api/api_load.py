#!/usr/bin/env python3
"""Load probe for the HTTP API (not a CTest test): N keep-alive clients in threads issue GETs
against a running node or fake_node_server and report requests/s and latency percentiles.

usage: api_load.py URL [--clients N] [--requests PER_CLIENT] [--path /api/v1/devices]
"""
import argparse
import http.client
import threading
import time
import urllib.parse


def worker(host, port, path, count, latencies, errors):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(count):
        start = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(resp.status)
        except Exception as exc:  # noqa: BLE001 - counted, the probe keeps going
            errors.append(str(exc))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
        latencies.append(time.perf_counter() - start)
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--path", default="/api/v1/devices")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    latencies, errors = [], []
    threads = [threading.Thread(target=worker, args=(u.hostname, u.port or 80, args.path,
                                                     args.requests, latencies, errors))
               for _ in range(args.clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    pct = lambda p: latencies[min(n - 1, int(p * n))] * 1000  # noqa: E731
    print(f"{n} requests, {args.clients} clients, {elapsed:.2f} s: {n / elapsed:.0f} req/s, "
          f"p50 {pct(0.5):.2f} ms, p99 {pct(0.99):.2f} ms, max {latencies[-1] * 1000:.2f} ms, "
          f"errors {len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
