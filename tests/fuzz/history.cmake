# History: the pair's forwarded records and coverage, and GET /api/v1/history's query string.
pollux_fuzzer(fuzz_history
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_history.cpp
  DEPS pollux_history pollux_redundancy pollux_api)
