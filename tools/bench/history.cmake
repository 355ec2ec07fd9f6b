# history_bench: the history store's ingestion rate, bytes per record on disk and query times on
# SQLite, and with --pg-url the ingestion rate on PostgreSQL (issue 20, "Performance");
# history_pg_bench.py starts a scratch PostgreSQL and runs it with --pg-url.
add_executable(history_bench ${CMAKE_CURRENT_LIST_DIR}/history_bench.cpp)
target_link_libraries(history_bench PRIVATE pollux_history PkgConfig::SQLITE3 PkgConfig::LIBPQ)
