# change_feed_bench: what publishing a point change costs the polling thread with 0, 1 and 3
# subscribers, and the allocations it makes (src/points/change_feed).
add_executable(change_feed_bench ${CMAKE_CURRENT_LIST_DIR}/change_feed_bench.cpp)
target_link_libraries(change_feed_bench PRIVATE pollux_points pollux_runtime benchmark::benchmark)
target_include_directories(change_feed_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests ${CMAKE_CURRENT_LIST_DIR})
