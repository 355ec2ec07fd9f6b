# Northbound receive path: a Sparkplug B payload from the broker (NCMD, DCMD).
pollux_fuzzer(fuzz_sparkplug
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_sparkplug.cpp
  DEPS pollux_northbound)
