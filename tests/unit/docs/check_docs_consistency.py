#!/usr/bin/env python3
"""The user reference in docs/ stays in step with the code.

- Every key the configuration loader accepts (its k...Keys lists in src/config/loader.cpp) is
  the key of a row in one of docs/configuration.md's tables (the first cell, written in
  backticks: `key`, `section.key`, `tokens[].key`, or a comma-separated list of them), or the
  name of one of its sections (a heading in backticks); and pollux.yaml(5) names it in bold.
- Every route of the HTTP server's routing table (src/api/http_server.cpp) appears in
  docs/api.md as "METHOD PATH" inside backticks, and every polluxctl verb as the start of a
  backticked first cell.

Usage: check_docs_consistency.py SOURCE_DIR
"""
import re
import sys
from pathlib import Path

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def loader_keys(loader):
    """Every string of every `k...Keys` list in the loader."""
    keys = set()
    for m in re.finditer(r"\bk\w*Keys\s*=\s*\{(.*?)\};", loader, re.S):
        keys.update(re.findall(r'"([^"]+)"', m.group(1)))
    return keys


def first_cells(markdown):
    """The first cell of every table row (header and separator rows included; harmless)."""
    for line in markdown.splitlines():
        line = line.strip()
        if line.startswith("|") and line.count("|") >= 3:
            yield line.split("|")[1]


def documented_keys(markdown):
    """Names written in backticks in a table's first cell or in a heading, split at dots and
    brackets so `mqtt.tls.ca_file` documents mqtt, tls and ca_file."""
    spans = []
    for cell in first_cells(markdown):
        spans += re.findall(r"`([^`]+)`", cell)
    for line in markdown.splitlines():
        if line.startswith("#"):
            spans += re.findall(r"`([^`]+)`", line)
    names = set()
    for span in spans:
        names.update(IDENT.findall(span))
    return names


def routes(server):
    """(METHOD, PATH) for every row the server adds to its routing table."""
    out = []
    for methods, path in re.findall(r't\.add\(\s*([^,]+),\s*"([^"]+)"', server):
        if "get" in methods:
            out.append(("GET", path))
        if "post" in methods:
            out.append(("POST", path))
    return out


def polluxctl_verbs(main):
    m = re.search(r"kSynopses\[\]\s*=\s*\{(.*?)\};", main, re.S)
    return re.findall(r'\{"([a-z-]+)",', m.group(1)) if m else []


def main(root):
    root = Path(root)
    failures = []

    config_doc = (root / "docs/configuration.md").read_text(encoding="utf-8")
    keys = loader_keys((root / "src/config/loader.cpp").read_text(encoding="utf-8"))
    if len(keys) < 50:
        failures.append("found only %d keys in the loader: has its k...Keys form changed?"
                        % len(keys))
    documented = documented_keys(config_doc)
    for key in sorted(keys - documented):
        failures.append("docs/configuration.md: no table row or section for the key '%s'" % key)

    # pollux.yaml(5) lists every key too, in bold.
    man = (root / "docs/man/pollux.yaml.5.md").read_text(encoding="utf-8")
    for key in sorted(keys - set(re.findall(r"\*\*([A-Za-z0-9_]+)\*\*", man))):
        failures.append("docs/man/pollux.yaml.5.md: the key '%s' is not named (in bold)" % key)

    api_doc = (root / "docs/api.md").read_text(encoding="utf-8")
    # Fenced blocks out first: their ``` would pair with the inline backticks around them.
    spans = re.findall(r"`([^`]+)`", re.sub(r"^```.*?^```", "", api_doc, flags=re.M | re.S))
    table = routes((root / "src/api/http_server.cpp").read_text(encoding="utf-8"))
    if len(table) < 15:
        failures.append("found only %d routes in the server: has its table form changed?"
                        % len(table))
    for method, path in table:
        wanted = re.compile(re.escape(method + " " + path) + r"(?:$|[?\s,])")
        if not any(wanted.match(s) for s in spans):
            failures.append("docs/api.md: no `%s %s`" % (method, path))

    cells = [c.strip() for c in first_cells(api_doc)]
    verbs = polluxctl_verbs((root / "tools/polluxctl/main.cpp").read_text(encoding="utf-8"))
    if len(verbs) < 10:
        failures.append("found only %d polluxctl verbs: has kSynopses changed?" % len(verbs))
    for verb in verbs:
        if not any(re.match(r"`" + re.escape(verb) + r"(?:[` ])", c) for c in cells):
            failures.append("docs/api.md: no row for the polluxctl verb '%s'" % verb)

    for f in failures:
        print("FAIL " + f)
    print("%d configuration keys, %d routes, %d polluxctl verbs checked"
          % (len(keys), len(table), len(verbs)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
