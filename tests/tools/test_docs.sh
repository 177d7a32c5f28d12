#!/usr/bin/env bash
# test_docs.sh: the generated tables of docs/sweep-format.md and
# docs/output-format.md (settings, probe options, output variables) are what
# `wedge schema --markdown` prints now: tools/update-docs.py --check exits 0, and
# exits 1 naming the block on a copy with one table row changed.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3.  ~1 s.
test_name=test_docs
. "${top_srcdir:-.}/tests/tools/lib.sh"
docs=$top_srcdir/docs
if out=$("$PYTHON3" "$TOOLS/update-docs.py" --check --wedge "$WEDGE" \
    "$docs/sweep-format.md" "$docs/output-format.md" 2>&1); then
    ok "docs match wedge schema ($(grep -c '^<!-- wedge schema:' "$docs/sweep-format.md" \
        "$docs/output-format.md" | awk -F: '{s += $2} END {print s}') generated tables)"
else
    fail "docs are stale (run tools/update-docs.py docs/sweep-format.md docs/output-format.md):"
    echo "$out" | sed 's/^/    /'
fi
sed 's/^| `lr` | number | > 0 | 1e-3 |/| `lr` | number | > 0 | 0.5 |/' "$docs/sweep-format.md" >"$tmp/s.md"
if cmp -s "$tmp/s.md" "$docs/sweep-format.md"; then
    fail "the lr row to change is not in docs/sweep-format.md"
else
    out=$("$PYTHON3" "$TOOLS/update-docs.py" --check --wedge "$WEDGE" "$tmp/s.md" 2>&1)
    rc=$?
    if [ $rc = 1 ] && echo "$out" | grep -q "settings train"; then
        ok "a changed row: exit 1, $(echo "$out" | head -1)"
    else
        fail "a changed row: exit $rc, $out"
    fi
fi
[ $nfail = 0 ] && echo "PASS: test_docs" || echo "FAIL: test_docs ($nfail)"
[ $nfail = 0 ]
