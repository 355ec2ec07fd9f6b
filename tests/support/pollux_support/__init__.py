"""Python support for the integration tests and the benchmarks (stdlib only, but for paho-mqtt
and protobuf in sparkplug and python3-selenium in browser): one package, so that no test module
imports another and no benchmark imports a test.

    sim       Sim: pollux-sim from YAML text, its control socket and its checked exit
    node      Node: `pollux run` with its config, log and HTTP API; wait_until, free_port
    testcase  NodeTestCase: starts simulators and nodes, fails a test on an unclean exit
    configs   YAML builders shared by several tests (a simulator fleet)
    pair      the master/backup pair harness (redundancy tests, takeover benchmark)
    proxy     TcpProxy: a loopback TCP proxy that blackholes, cuts and heals (partitions)
    postgres  Postgres: a scratch PostgreSQL server (history tests and benchmark)
    mosquitto Broker: a scratch mosquitto (plain, TLS with a test CA, a password file)
    sparkplug Host: a Sparkplug B host (paho-mqtt, the schema compiled by protoc at import)
    tls       TestCa: a scratch CA and server certificates made with the openssl CLI (HTTPS)
    browser   Browser: headless Chromium at a fixed size (operator page tests and benchmark),
              the screenshots' directory

CTest puts tests/support on PYTHONPATH; scripts run by hand add it themselves.
"""
