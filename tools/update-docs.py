#!/usr/bin/env python3
"""update-docs.py: the docs' tables of settings, options and output variables,
regenerated from `wedge schema --markdown` (the tables the program itself reads).

usage: tools/update-docs.py [--check] [--wedge PATH] FILE...

In each FILE (docs/sweep-format.md, docs/output-format.md), a line
`<!-- wedge schema: NAME -->` and the table that follows it (up to the next blank
line) are replaced by the block of the same NAME that `wedge schema --markdown`
prints.  --check changes nothing and exits 1, naming the stale blocks, when a file
differs from what would be written (the test suite runs this).
"""
import os
import re
import subprocess
import sys

MARK = re.compile(r"^<!-- wedge schema: (.+) -->$")


def blocks(text):
    """NAME -> the lines of its block (marker and table)."""
    out, name, cur = {}, None, []
    for line in text.splitlines():
        m = MARK.match(line)
        if m:
            if name:
                out[name] = cur
            name, cur = m.group(1), [line]
        elif name and line.strip():
            cur.append(line)
        elif name:
            out[name], name, cur = cur, None, []
    if name:
        out[name] = cur
    return out


def rewrite(text, gen):
    lines, res, i, stale, missing = text.splitlines(), [], 0, [], []
    while i < len(lines):
        m = MARK.match(lines[i])
        if not m:
            res.append(lines[i])
            i += 1
            continue
        name = m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].strip():
            j += 1
        if name not in gen:
            missing.append(name)
            res.extend(lines[i:j])
        else:
            if lines[i:j] != gen[name]:
                stale.append(name)
            res.extend(gen[name])
        i = j
    return "\n".join(res) + "\n", stale, missing


def main(argv):
    check, wedge, files = False, None, []
    it = iter(argv[1:])
    for a in it:
        if a == "--check":
            check = True
        elif a == "--wedge":
            wedge = next(it, None)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if not files:
        print("usage: update-docs.py [--check] [--wedge PATH] FILE...", file=sys.stderr)
        return 2
    wedge = wedge or os.environ.get("WEDGE") or "./wedge"
    try:
        md = subprocess.run([wedge, "schema", "--markdown"], check=True, capture_output=True,
                            text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"update-docs.py: {wedge} schema --markdown: {e}", file=sys.stderr)
        return 1
    gen, bad = blocks(md), 0
    for f in files:
        try:
            text = open(f, encoding="utf-8").read()
        except OSError as e:
            print(f"update-docs.py: {f}: {e.strerror}", file=sys.stderr)
            return 1
        new, stale, missing = rewrite(text, gen)
        for name in missing:
            print(f"update-docs.py: {f}: no block '{name}' in wedge schema --markdown",
                  file=sys.stderr)
            bad = 1
        if check:
            for name in stale:
                print(f"{f}: the table '{name}' is not what wedge schema says: run "
                      f"tools/update-docs.py {f}")
                bad = 1
        elif new != text:
            open(f, "w", encoding="utf-8").write(new)
            print(f"{f}: {len(stale)} table(s) updated")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
