#include "api/body_source.hpp"

#include <utility>

namespace pollux::api {

std::string drain(BodySource& body) {
  std::string out;
  while (!body.done())
    out += body.next();
  return out;
}

namespace {

class WholeBody final : public BodySource {
 public:
  explicit WholeBody(std::string text) : text_(std::move(text)) {}
  bool done() const override { return done_; }
  std::string next() override {
    done_ = true;
    return std::move(text_);
  }

 private:
  std::string text_;
  bool done_ = false;
};

class FollowedBy final : public BodySource {
 public:
  FollowedBy(std::unique_ptr<BodySource> first, std::function<std::string()> last)
      : first_(std::move(first)), last_(std::move(last)) {}
  bool done() const override { return first_->done() && !last_; }
  std::string next() override {
    if (!first_->done()) return first_->next();
    auto last = std::move(last_);
    last_ = nullptr;
    return last();
  }

 private:
  std::unique_ptr<BodySource> first_;
  std::function<std::string()> last_;
};

}  // namespace

std::unique_ptr<BodySource> whole_body(std::string text) {
  return std::make_unique<WholeBody>(std::move(text));
}

std::unique_ptr<BodySource> followed_by(std::unique_ptr<BodySource> first,
                                        std::function<std::string()> last) {
  return std::make_unique<FollowedBy>(std::move(first), std::move(last));
}

}  // namespace pollux::api
