// A response body built a part at a time, each part on its own I/O turn.
//
// At 10,000 devices GET /metrics is 6 MB and the all-points listing 16 MB (spec/api.md). Built in
// one piece they held the I/O thread for 15 ms and a second, and every poll with it (engine
// issue: "The API never blocks the I/O thread"). The HTTP server asks for the next part once
// the previous one is written, as one chunk of a chunked response.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace pollux::api {

class BodySource {
 public:
  // About a millisecond of the I/O thread per part for the bodies here.
  static constexpr std::size_t kPartBytes = 32 * 1024;

  virtual ~BodySource() = default;
  virtual bool done() const = 0;
  // The next part; called only while !done().
  virtual std::string next() = 0;
};

// Every part joined, for callers that want the whole text.
std::string drain(BodySource& body);
// A body that is one text already.
std::unique_ptr<BodySource> whole_body(std::string text);
// `first`'s parts, then one part `last()` builds when it is reached.
std::unique_ptr<BodySource> followed_by(std::unique_ptr<BodySource> first,
                                        std::function<std::string()> last);

}  // namespace pollux::api
