# libFuzzer targets for the Modbus codec: one per framer plus PDU response decoding. Each has a
# committed seed corpus in corpus/<target>/.
foreach(name rtu ascii tcp rtu_over_tcp pdu)
  pollux_fuzzer(fuzz_${name} SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_${name}.cpp DEPS pollux_modbus)
endforeach()
