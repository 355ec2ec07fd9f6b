add_executable(timer_queue_bench ${CMAKE_CURRENT_LIST_DIR}/timer_queue_bench.cpp)
target_link_libraries(timer_queue_bench PRIVATE pollux_runtime benchmark::benchmark)
target_include_directories(timer_queue_bench PRIVATE ${CMAKE_CURRENT_LIST_DIR})
