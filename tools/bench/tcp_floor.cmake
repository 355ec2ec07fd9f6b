# tcp_floor: a minimal Modbus TCP poller against pollux-sim, the kernel's floor under
# engine_bench's CPU figures (engine issue, performance goals). Its io_uring mode is built when
# liburing is present (tools/setup.sh installs liburing-dev).
add_executable(tcp_floor ${CMAKE_CURRENT_LIST_DIR}/tcp_floor.cpp)
target_link_libraries(tcp_floor PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(tcp_floor PRIVATE POLLUX_SIM_PATH="$<TARGET_FILE:pollux-sim>")
add_dependencies(tcp_floor pollux-sim)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBURING QUIET IMPORTED_TARGET liburing)
endif()
if(LIBURING_FOUND)
  target_link_libraries(tcp_floor PRIVATE PkgConfig::LIBURING)
  target_compile_definitions(tcp_floor PRIVATE POLLUX_HAVE_LIBURING)
endif()
