"""YAML builders that more than one test or benchmark uses: pollux-sim fleets. A test's own
node configs stay beside the test that reads them.

    sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"])], serial=[("L1", ["A"])])
    tcp_sim_yaml(1000)   # D0..D999, one TCP server T<i> each, ten holding registers
"""


def sim_yaml(devices, serial=(), tcp=(), extra=""):
    """devices: [(id, unit, [register specs])]; serial: [(id, [device ids])]; tcp: [(id,
    [device ids], protocol)]; `extra` is appended as it is."""
    out = ["devices:"]
    for did, unit, regs in devices:
        out.append("  - id: %s\n    unit: %d\n    registers:" % (did, unit))
        out += ["      - " + r for r in regs]
    if serial:
        out.append("serial:")
        for sid, devs in serial:
            out.append("  - { id: %s, devices: [%s] }" % (sid, ", ".join(devs)))
    if tcp:
        out.append("tcp:")
        for tid, devs, proto in tcp:
            out.append("  - { id: %s, protocol: %s, devices: [%s] }" % (tid, proto, ", ".join(devs)))
    return "\n".join(out) + "\n" + extra


def tcp_sim_yaml(n):
    """`n` devices D<i> (unit 1, registers 0..9 holding 1..10), each behind its own Modbus TCP
    server T<i>: the benchmarks' TCP fleet."""
    out = ["devices:"]
    for i in range(n):
        out.append("  - { id: D%d, unit: 1, size: 16, registers: [ { table: holding, address: 0, "
                   "words: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } ] }" % i)
    out.append("tcp:")
    for i in range(n):
        out.append("  - { id: T%d, devices: [D%d] }" % (i, i))
    return "\n".join(out) + "\n"
