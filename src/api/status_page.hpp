// The status page served at GET / (api task: "plain HTML, no external assets"): one static
// document whose few lines of JavaScript poll the JSON API and redraw node, channels, devices
// and points, so operators see the live state without polluxctl.
#pragma once

#include <string_view>

namespace pollux::api {

// The complete HTML document, refreshing itself every 2 s from /api/v1/*.
std::string_view status_page_html();

}  // namespace pollux::api
