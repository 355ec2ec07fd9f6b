add_executable(point_codec_bench ${CMAKE_CURRENT_LIST_DIR}/point_codec_bench.cpp)
target_link_libraries(point_codec_bench PRIVATE pollux_points benchmark::benchmark)
target_include_directories(point_codec_bench PRIVATE ${CMAKE_CURRENT_LIST_DIR})
