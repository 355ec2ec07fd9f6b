# Writes the status page's files (src/api/ui/*) into one C++ source as byte arrays, so pollux
# serves them from its own binary: a control room's front-end server has no internet access and
# the package installs no web root (issue 23: self-contained, no build step needing the network).
# Run at build time: cmake -DUI_DIR=... -DOUT=... -P embed_ui.cmake
file(GLOB files RELATIVE "${UI_DIR}" "${UI_DIR}/*.html" "${UI_DIR}/*.css" "${UI_DIR}/*.js")
list(SORT files)
set(arrays "")
set(rows "")
set(index 0)
foreach(name IN LISTS files)
  file(READ "${UI_DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "const unsigned char kFile${index}[] = {${bytes}0};\n")
  string(APPEND rows "    {\"${name}\", {reinterpret_cast<const char*>(kFile${index}), ${size}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUT}.tmp"
  "// Generated from src/api/ui by src/api/embed_ui.cmake; do not edit.\n"
  "#include \"api/ui_assets.hpp\"\n\nnamespace pollux::api {\nnamespace {\n${arrays}}  // namespace\n\n"
  "std::span<const UiFile> ui_files() {\n  static const UiFile files[] = {\n${rows}  };\n"
  "  return files;\n}\n\n}  // namespace pollux::api\n")
# Only a changed content touches the output, so an unchanged page recompiles nothing.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
