# sim_capacity: load client measuring how many requests/s pollux-sim serves for 1, 100 and 1000
# simulated TCP devices, and the CPU it uses (simulator issue, "Measure capacity").
add_executable(sim_capacity ${CMAKE_CURRENT_LIST_DIR}/sim_capacity.cpp)
target_link_libraries(sim_capacity PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(sim_capacity PRIVATE POLLUX_SIM_PATH="$<TARGET_FILE:pollux-sim>")
add_dependencies(sim_capacity pollux-sim)
