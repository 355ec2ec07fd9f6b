# paho_floor: the same QoS 0 DDATA stream through Eclipse Paho C++ alone, the floor under
# northbound_bench's CPU and drain figures (northbound issue, Performance).
find_package(PahoMqttCpp REQUIRED)
add_executable(paho_floor ${CMAKE_CURRENT_LIST_DIR}/paho_floor.cpp)
target_link_libraries(paho_floor PRIVATE PahoMqttCpp::paho-mqttpp3 Threads::Threads)
