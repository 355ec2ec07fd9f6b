# Peer-link receive path: framing, MessagePack decode, handshake and authenticated sessions.
pollux_fuzzer(fuzz_peer_frame
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_peer_frame.cpp
  DEPS pollux_redundancy)
