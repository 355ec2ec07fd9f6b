"""Python support for the integration tests and the benchmarks (stdlib only): one package, so
that no test module imports another and no benchmark imports a test.

    sim       Sim: pollux-sim from YAML text, its control socket and its checked exit
    node      Node: `pollux run` with its config, log and HTTP API; wait_until, free_port
    testcase  NodeTestCase: starts simulators and nodes, fails a test on an unclean exit
    configs   YAML builders shared by several tests (a simulator fleet)
    pair      the master/backup pair harness (redundancy tests, takeover benchmark)
    postgres  Postgres: a scratch PostgreSQL server (history tests and benchmark)

CTest puts tests/support on PYTHONPATH; scripts run by hand add it themselves.
"""
