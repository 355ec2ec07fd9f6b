// The status page's files (src/api/ui: index.html, CSS, JavaScript modules), embedded in the
// binary at build time by src/api/embed_ui.cmake and served at / and /ui/NAME (issue 23:
// self-contained, no CDN; security.md: the page holds no data, so its files need no token and
// a browser without one gets the page with the 401 and asks for a token).
#pragma once

#include <span>
#include <string_view>

namespace pollux::api {

struct UiFile {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view body;
};

// Every embedded file, sorted by name (generated).
std::span<const UiFile> ui_files();

// The file called `name`, or nullptr.
const UiFile* find_ui_file(std::string_view name);

// The Content-Type for a file name's extension.
std::string_view ui_content_type(std::string_view name);

// The page's document, index.html.
std::string_view status_page_html();

}  // namespace pollux::api
