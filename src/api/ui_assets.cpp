#include "api/ui_assets.hpp"

#include <algorithm>

namespace pollux::api {

const UiFile* find_ui_file(std::string_view name) {
  const auto files = ui_files();
  const auto it =
      std::find_if(files.begin(), files.end(), [&](const UiFile& f) { return f.name == name; });
  return it == files.end() ? nullptr : &*it;
}

std::string_view ui_content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

std::string_view status_page_html() {
  const UiFile* index = find_ui_file("index.html");
  return index ? index->body : std::string_view{};
}

}  // namespace pollux::api
