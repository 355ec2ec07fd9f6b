#include "config/tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <streambuf>
#include <tuple>

namespace pollux::config::detail {
namespace {

// Aliases can multiply a tiny file into billions of nodes ("billion laughs"), so expansion stops
// at kMaxNodes copied nodes rather than hanging. Nodes written out in the file are bounded by its
// size; kMaxTotalNodes only keeps a runaway file from exhausting memory (10,000 devices with ten
// points each are about 700,000 nodes).
constexpr std::size_t kMaxNodes = 200000;
constexpr std::size_t kMaxTotalNodes = 20000000;
constexpr int kMaxDepth = 64;

// yaml-cpp ends a plain scalar inside a flow collection at '{' and '}', so the
// `{ name: x, token: ${T}, role: viewer }` form of spec/security.md's example would be a syntax
// error. Before parsing, each well-formed ${NAME} becomes $\x01NAME\x02 (protect_env_refs): the
// same length, so every mark stays where it was, and plain scalar text to yaml-cpp.
// restore_env_refs turns it back before the value is expanded.
constexpr char kRefOpen = '\x01';
constexpr char kRefClose = '\x02';

void restore_env_refs(std::string& s) {
  if (s.find(kRefOpen) == std::string::npos) return;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '$' || s[i + 1] != kRefOpen) continue;
    const auto close = s.find(kRefClose, i + 2);
    if (close == std::string::npos) break;
    s[i + 1] = '{';
    s[close] = '}';
    i = close;
  }
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += extra + 1;
  }
  return true;
}

class DocumentCounter : public YAML::EventHandler {
 public:
  int docs = 0;
  Mark second;
  void OnDocumentStart(const YAML::Mark& m) override {
    if (++docs == 2)
      second = m.line >= 0 && m.column >= 0 ? Mark{m.line + 1, m.column + 1} : Mark{};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Builds the tree straight from the parser's events. yaml-cpp's own node tree costs several
// hundred bytes per node (a 1000-device config held ~45 MB of it at the peak of loading), so it
// is never built: only this tree is, and aliases are expanded by copying the anchored subtree.
// Marks follow what yaml-cpp nodes report: a null takes the mark of its key (map value) or of
// its sequence, an alias copy keeps the marks of the anchored text.
class Builder final : public YAML::EventHandler {
 public:
  Builder(Diagnostics& diags, const EnvLookup* env) : diags_(diags), env_(env) {}

  bool over_budget() const { return over_budget_; }
  Node take_root() { return std::move(root_); }
  // Diagnostics are held back until the document parsed: a syntax error stands alone.
  void flush() {
    for (auto& [at, msg] : pending_)
      diags_.error(at, std::move(msg));
    pending_.clear();
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override {
    if (skipping() || skip_value() || !count_one()) return;
    const Mark at = fallback();
    if (!expecting_key() && too_deep(at)) anchor = 0;
    emit(Node{Node::Kind::null, false, at, {}, {}, {}}, 1, anchor, true);
  }

  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    if (skipping() || skip_value()) return;
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return;  // the parser refuses unknown anchors before this
    const std::size_t n = it->second.count;
    alias_nodes_ += n;
    count_ += n;
    if (alias_nodes_ > kMaxNodes || count_ > kMaxTotalNodes) {
      too_large(fallback());
      return;
    }
    if (!expecting_key() && too_deep(fallback())) {
      emit(Node{Node::Kind::null, false, fallback(), {}, {}, {}}, 1, 0, true);
      return;
    }
    Node copy = it->second.node;
    const bool null = copy.is_null();
    if (null) copy.mark = fallback();  // a null takes the mark of where it is used
    emit(std::move(copy), n, 0, null);
  }

  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (skipping() || skip_value() || !count_one()) return;
    Node n;
    n.mark = mark_of(m);
    n.kind = Node::Kind::scalar;
    n.quoted = tag == "!";
    if (expecting_key()) {
      n.text = value;  // keys are taken as written: the reader matches them, ${} is for values
      restore_env_refs(n.text);
    } else {
      if (too_deep(n.mark)) {
        emit(Node{Node::Kind::null, false, n.mark, {}, {}, {}}, 1, 0, true);
        return;
      }
      n.text = scalar_text(value, n.mark);
    }
    emit(std::move(n), 1, anchor, false);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(m, anchor, Node::Kind::sequence);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(m, anchor, Node::Kind::map);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    std::size_t count = 1;  // nodes in this subtree
    // Maps: the key read and waiting for its value; an unusable key skips its value.
    bool have_key = false;
    bool skip_value = false;
    std::string key;
    Mark key_mark;
  };
  struct Anchored {
    Node node;
    std::size_t count = 0;
  };

  static Mark mark_of(const YAML::Mark& m) {
    return m.line >= 0 && m.column >= 0 ? Mark{m.line + 1, m.column + 1} : Mark{};
  }
  int depth() const { return static_cast<int>(stack_.size()); }
  bool skipping() const { return over_budget_ || skip_ > 0; }
  bool expecting_key() const {
    return !stack_.empty() && stack_.back().node.is_map() && !stack_.back().have_key;
  }
  // Where a node without a mark of its own (a null) is reported.
  Mark fallback() const {
    if (stack_.empty()) return Mark{};
    const Frame& f = stack_.back();
    if (f.node.is_map()) return f.have_key ? f.key_mark : f.node.mark;
    return f.node.mark;
  }
  // The value after an unusable key is not read at all (no errors from inside it): true when
  // this event starts that value, which is then consumed.
  bool skip_value() {
    if (stack_.empty() || !stack_.back().node.is_map() || !stack_.back().have_key ||
        !stack_.back().skip_value)
      return false;
    stack_.back().have_key = false;
    stack_.back().skip_value = false;
    return true;
  }
  bool count_one() {
    if (++count_ > kMaxTotalNodes) {
      too_large(fallback());
      return false;
    }
    return true;
  }
  void too_large(Mark at) {
    over_budget_ = true;
    pending_.emplace_back(at, "document too large: more than " + std::to_string(kMaxNodes) +
                                  " nodes once aliases are expanded");
  }
  bool too_deep(Mark at) {
    if (depth() <= kMaxDepth) return false;
    pending_.emplace_back(at, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    return true;
  }

  void open(const YAML::Mark& m, YAML::anchor_t anchor, Node::Kind kind) {
    if (skipping()) {
      if (!over_budget_) ++skip_;
      return;
    }
    if (skip_value()) {
      skip_ = 1;
      return;
    }
    if (!count_one()) return;
    const Mark at = mark_of(m);
    if (expecting_key()) {
      // A collection as a key is refused as a whole; its contents are not read.
      emit(Node{kind, false, at, {}, {}, {}}, 1, 0, false);
      skip_ = 1;
      return;
    }
    if (too_deep(at)) {
      // A null stands in for the whole collection, whose events are then ignored.
      emit(Node{Node::Kind::null, false, at, {}, {}, {}}, 1, 0, true);
      skip_ = 1;
      return;
    }
    Frame f;
    f.node.kind = kind;
    f.node.mark = at;
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (over_budget_) return;
    if (skip_ > 0) {
      --skip_;
      return;
    }
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    // Growth leaves up to half of a list unused (10 points sit in room for 16); the whole tree
    // is alive at the peak of loading, so it is kept tight.
    f.node.items.shrink_to_fit();
    f.node.entries.shrink_to_fit();
    emit(std::move(f.node), f.count, f.anchor, false);
  }

  void emit(Node n, std::size_t count, YAML::anchor_t anchor, bool is_null) {
    if (anchor != 0) anchors_[anchor] = Anchored{n, count};
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& p = stack_.back();
    p.count += count;
    if (p.node.is_sequence()) {
      p.node.items.push_back(std::move(n));
      return;
    }
    if (!p.have_key) {
      p.have_key = true;
      p.key_mark = n.mark;
      if (!n.is_scalar()) {
        pending_.emplace_back(n.mark, "expected a plain key (a name), not a " +
                                          std::string(is_null ? "null" : "collection"));
        p.skip_value = true;
        return;
      }
      p.key = std::move(n.text);
      if (!valid_utf8(p.key)) {
        pending_.emplace_back(p.key_mark, "key is not valid UTF-8");
        p.key.clear();
      }
      return;
    }
    p.have_key = false;
    p.node.entries.push_back(Entry{std::move(p.key), p.key_mark, std::move(n)});
    p.key.clear();
  }

  std::string scalar_text(const std::string& value, Mark at) {
    std::string raw = value;
    restore_env_refs(raw);
    std::string text = raw;
    if (env_ != nullptr) {
      std::string expanded;
      if (auto err = expand_env(raw, *env_, expanded)) {
        pending_.emplace_back(at, *err);
      } else {
        text = std::move(expanded);
      }
    }
    if (!valid_utf8(text)) {
      pending_.emplace_back(at, "value is not valid UTF-8");
      text.clear();
    }
    return text;
  }

  Diagnostics& diags_;
  const EnvLookup* env_;
  std::vector<std::pair<Mark, std::string>> pending_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  Node root_;
  std::size_t count_ = 0, alias_nodes_ = 0;
  int skip_ = 0;  // open collections being ignored (too deep, a key, or the value of a bad key)
  bool over_budget_ = false;
};

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// See kRefOpen. The $${ escape is left alone, as is anything that is not a well-formed
// reference (expand_env reports it).
std::string protect_env_refs(std::string_view text) {
  std::string out(text);
  for (std::size_t i = out.find("${"); i != std::string::npos; i = out.find("${", i)) {
    const auto close = out.find('}', i + 2);
    if (close == std::string::npos) break;
    const std::string_view name(out.data() + i + 2, close - i - 2);
    const bool escaped = i > 0 && out[i - 1] == '$';
    if (escaped || name.empty() || name.find('\n') != std::string_view::npos ||
        !is_name_start(name[0]) || !std::all_of(name.begin(), name.end(), is_name_char)) {
      i += 2;
      continue;
    }
    out[i + 1] = kRefOpen;
    out[close] = kRefClose;
    i = close + 1;
  }
  return out;
}

nlohmann::json to_json(const Node& n) {
  switch (n.kind) {
    case Node::Kind::null:
      return nullptr;
    case Node::Kind::scalar:
      if (!n.quoted) {
        // Only texts already in canonical spelling become numbers/booleans, so nothing is
        // lost (a phone "0015551234" stays a string) and the output reads back identically.
        if (auto v = parse_integer(n.text); v && std::to_string(*v) == n.text) return *v;
        if (n.text == "true") return true;
        if (n.text == "false") return false;
      }
      return n.text;
    case Node::Kind::sequence: {
      auto a = nlohmann::json::array();
      for (const auto& i : n.items)
        a.push_back(to_json(i));
      return a;
    }
    case Node::Kind::map: {
      auto o = nlohmann::json::object();
      // Duplicates are reported by the reader; the first one is the one it reads.
      for (const auto& e : n.entries)
        if (!o.contains(e.key)) o[e.key] = to_json(e.value);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

const Entry* Node::find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

Entry* Node::find(std::string_view key) {
  for (auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

void Diagnostics::error(Mark at, std::string message) {
  list_.push_back(Diagnostic{file_, at.line, at.col, std::move(message)});
}

bool Diagnostics::has_errors() const {
  return std::any_of(list_.begin(), list_.end(), [](const Diagnostic& d) { return !d.warning; });
}

void Diagnostics::warning(Mark at, std::string message) {
  list_.push_back(Diagnostic{file_, at.line, at.col, std::move(message), true});
}

std::vector<Diagnostic> Diagnostics::take_sorted() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.line != b.line ? a.line < b.line : a.col < b.col;
  });
  std::vector<Diagnostic> out;
  std::set<std::tuple<int, int, std::string, bool>> seen;
  for (auto& d : list_) {
    // A second validation pass (backup overrides) finds some problems again.
    if (seen.emplace(d.line, d.col, d.message, d.warning).second) out.push_back(std::move(d));
  }
  list_.clear();
  return out;
}

std::optional<std::string> expand_env(const std::string& in, const EnvLookup& env,
                                      std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < in.size()) {
    if (in.compare(i, 3, "$${") == 0) {  // escape: a literal "${"
      out += "${";
      i += 3;
      continue;
    }
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    const std::size_t close = in.find('}', i + 2);
    if (close == std::string::npos) return "unterminated '${' (write '$${' for a literal '${')";
    const std::string name = in.substr(i + 2, close - i - 2);
    if (name.empty() || !is_name_start(name[0]) ||
        !std::all_of(name.begin(), name.end(), is_name_char))
      return "invalid environment variable name '" + name + "' in '${" + name + "}'";
    auto value = env(name);
    if (!value) return "environment variable '" + name + "' is not set";
    out += *value;
    i = close + 1;
  }
  return std::nullopt;
}

std::optional<Node> parse_document(std::string_view text, Diagnostics& diags,
                                   const EnvLookup* env) {
  // Reads the caller's text in place: a copy into an istringstream would hold the whole file
  // twice more at the peak of loading.
  struct ViewBuf : std::streambuf {
    explicit ViewBuf(std::string_view t) {
      char* p = const_cast<char*>(t.data());  // get area only: never written through
      setg(p, p, p + t.size());
    }
  };
  // A copy only when there is a reference to protect (and only with expansion: the master's
  // canonical text may hold a literal "${").
  std::string protected_text;
  if (env != nullptr && text.find("${") != std::string_view::npos) {
    protected_text = protect_env_refs(text);
    text = protected_text;
  }
  ViewBuf buf(text);
  std::istream stream(&buf);
  Builder builder(diags, env);
  Mark second_doc;
  int docs = 0;
  try {
    YAML::Parser parser(stream);
    if (parser.HandleNextDocument(builder)) {
      // YAML::LoadAll loops forever on some malformed streams (a lone ","), so further
      // documents are only counted, stopping at the second.
      DocumentCounter counter;
      counter.docs = 1;
      while (counter.docs < 2 && parser.HandleNextDocument(counter)) {
      }
      docs = counter.docs;
      second_doc = counter.second;
    }
  } catch (const YAML::ParserException& e) {
    const Mark at =
        e.mark.line >= 0 && e.mark.column >= 0 ? Mark{e.mark.line + 1, e.mark.column + 1} : Mark{};
    diags.error(at, "syntax error: " + e.msg);
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    diags.error(Mark{}, std::string("syntax error: ") + e.what());
    return std::nullopt;
  }
  if (docs > 1) diags.error(second_doc, "expected one YAML document, found more");
  builder.flush();
  if (builder.over_budget()) return std::nullopt;
  return builder.take_root();
}

void merge_into(Node& base, const Node& over) {
  if (!base.is_map() || !over.is_map()) {
    base = over;
    return;
  }
  for (const auto& oe : over.entries) {
    if (Entry* be = base.find(oe.key)) {
      if (!(be->value.is_map() && oe.value.is_map())) be->key_mark = oe.key_mark;
      merge_into(be->value, oe.value);
    } else {
      base.entries.push_back(oe);
    }
  }
}

std::string canonical_json(const Node& node) {
  return to_json(node).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  // Suggestions are for typos among a handful of names; a huge list gets none rather than
  // quadratic work.
  if (candidates.size() > 1000 || word.size() > 200) return {};
  // A typo is a few edits away; past a third of the word it is a different word.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    // "baud_rate" for "baud", "heartbeat" for "heartbeat_interval_ms": one word contains the
    // other, however many letters were added.
    const bool contains =
        std::min(word.size(), c.size()) >= 4 &&
        (word.find(c) != std::string_view::npos || c.find(word) != std::string::npos);
    if (contains) d = std::min(d, limit);
    if (d < best_d && d < std::max(word.size(), c.size())) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::optional<long long> parse_integer(std::string_view s) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  if (digits.empty()) return std::nullopt;
  unsigned long long v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  if (v > static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
    return std::nullopt;
  const auto sv = static_cast<long long>(v);
  return negative ? -sv : sv;
}

std::optional<double> parse_decimal(std::string_view s) {
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  // Plain decimal notation only: no hex floats, inf or nan.
  std::size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9')
    ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9')
      ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9')
      ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || ptr != body.data() + body.size()) return std::nullopt;
  if (!std::isfinite(v)) return std::nullopt;
  return (!s.empty() && s[0] == '-') ? -v : v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

}  // namespace pollux::config::detail
