# fuzz_config: the YAML config loader on arbitrary bytes (spec/config.md).
pollux_fuzzer(fuzz_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_config.cpp DEPS pollux_config)
