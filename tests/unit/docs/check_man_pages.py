#!/usr/bin/env python3
"""The generated manual pages exist, have a NAME section, and render without warnings.

Usage: check_man_pages.py PAGE...   (the pages docs/CMakeLists.txt generates)

`man --warnings -l` (man-db) renders each page through groff with its warnings on; any line it
prints on stderr is a defect of the page (a macro groff does not know, a line it cannot break).
Without man, groff alone does the same; without either, only the page's own text is checked.
"""
import os
import shutil
import subprocess
import sys


def render(page):
    """(rendered text, warnings) or None when nothing on this machine can render."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANROFFSEQ="")
    if shutil.which("man"):
        cmd = ["man", "--warnings", "-l", page]
    elif shutil.which("groff"):
        cmd = ["groff", "-man", "-Tutf8", "-ww", page]
    else:
        return None
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return r.stdout, (r.stderr or "exit status %d" % r.returncode)
    return r.stdout, r.stderr


def main(pages):
    failures = []
    for page in pages:
        name = os.path.basename(page)
        if not os.path.isfile(page) or os.path.getsize(page) == 0:
            failures.append("%s: not generated (missing or empty)" % page)
            continue
        with open(page, encoding="utf-8") as f:
            source = f.read()
        if ".TH " not in source or ".SH NAME" not in source:
            failures.append("%s: no .TH header or NAME section" % name)
        out = render(page)
        if out is None:
            print("%s: neither man nor groff here; checked the source only" % name)
            continue
        text, warnings = out
        if warnings.strip():
            failures.append("%s: renders with warnings:\n%s" % (name, warnings.rstrip()))
        if "NAME" not in text or "SEE ALSO" not in text:
            failures.append("%s: the rendered page lacks NAME or SEE ALSO" % name)
    for f in failures:
        print("FAIL " + f)
    if not pages:
        print("FAIL no pages given")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
