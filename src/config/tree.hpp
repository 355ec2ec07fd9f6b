// Internal to src/config: the document tree the loader validates (spec/config.md "Errors").
//
// yaml-cpp's nodes are turned into this plain tree once, so that every key and value keeps its
// 1-based line:col, `${ENV}` is expanded in one place, `backup_overrides` can be deep-merged
// without losing where each value came from, and no yaml-cpp type leaves loader code
// (DESIGN.md principle 5). The master's canonical JSON goes through the same tree (config sync).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace pollux::config::detail {

struct Mark {
  int line = 1;  // 1-based
  int col = 1;   // 1-based
};

struct Entry;

struct Node {
  // Small members first: a 10,000-device tree has ~700,000 nodes alive at the peak of loading,
  // and this order packs them into 96 bytes instead of 104.
  enum class Kind : unsigned char { null, scalar, sequence, map };
  Kind kind = Kind::null;
  bool quoted = false;  // quoted scalar: never a number/bool in canonical override text
  Mark mark;
  std::string text;            // scalars, after ${ENV} expansion
  std::vector<Node> items;     // sequence
  std::vector<Entry> entries;  // map, in file order, duplicates kept (reported by the reader)

  bool is_map() const { return kind == Kind::map; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_null() const { return kind == Kind::null; }
  // First entry with this key, or nullptr.
  const Entry* find(std::string_view key) const;
  Entry* find(std::string_view key);
};

struct Entry {
  std::string key;
  Mark key_mark;
  Node value;
};
static_assert(sizeof(void*) != 8 || sizeof(Node) <= 96, "Node grew: the tree is the load peak");

// Collects diagnostics for one file; they are sorted into file order at the end.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Mark at, std::string message);
  void warning(Mark at, std::string message);
  bool empty() const { return list_.empty(); }
  bool has_errors() const;
  std::size_t size() const { return list_.size(); }
  const std::string& file() const { return file_; }
  // Errors and warnings sorted by line then column (stable), exact duplicates removed.
  std::vector<Diagnostic> take_sorted();

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

// Expands ${NAME} (and the escape $${ -> literal ${) in one string. Returns the error message
// on a missing variable or a malformed reference.
std::optional<std::string> expand_env(const std::string& in, const EnvLookup& env,
                                      std::string& out);

// Parses one YAML (or JSON) document into a tree. `env` null: no expansion (the master's
// canonical text is already expanded). Reports syntax errors, invalid UTF-8, documents that
// are too large once aliases are expanded, nesting that is too deep, and more than one
// document. Returns nullopt when nothing usable was parsed.
std::optional<Node> parse_document(std::string_view text, Diagnostics& diags, const EnvLookup* env);

// Deep merge (backup_overrides): maps merge key by key; anything else replaces. Replaced or
// added keys keep the override's marks so errors point into the override text.
void merge_into(Node& base, const Node& over);

// Canonical JSON of a tree (sorted keys; plain scalars that read as integers, decimals or
// booleans become JSON numbers/booleans, everything else a string).
std::string canonical_json(const Node& node);

// Edit distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` when it is a plausible typo of it, else empty.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

// Scalar conversions shared by the reader and the canonical writer.
std::optional<long long> parse_integer(std::string_view s);
std::optional<double> parse_decimal(std::string_view s);
std::optional<bool> parse_bool(std::string_view s);

}  // namespace pollux::config::detail
