#!/usr/bin/env bash
# test_units.sh: every units attribute wedge writes is valid UDUNITS-2, read by the
# udunits2 library itself (libudunits2, through ctypes).
#
#   - every variable of every kind and every setting coordinate in `wedge schema
#     --json` (which lists what the store writes): its units parse, and losses are
#     dimensionless "1" with "nats" in their long_name; the word "nat" is not a unit
#     anywhere (UDUNITS reads it as nano-technical-atmospheres: the test shows that
#     it parses and is not convertible to "1");
#   - a real output (tests/sweeps/e2e/small.yaml with a tunnel probe): the units of
#     each of its variables parse and equal the schema's.
# Needs libudunits2.so.0 (Debian: libudunits2-0, which tools/setup.sh installs).
# Uses $WEDGE (default ./wedge), $top_srcdir, $PYTHON3.  A few seconds.
test_name=test_units
. "${top_srcdir:-.}/tests/tools/lib.sh"

"$WEDGE" schema --json >"$tmp/schema.json" || { echo "FAIL: wedge schema --json"; exit 1; }
"$WEDGE" run "$top_srcdir/tests/sweeps/e2e/small.yaml" 'probes.tunnel={directions: 2, probe_size: 32}' \
    -o "$tmp/small.nc" --quiet >"$tmp/run.log" 2>&1 ||
    { echo "FAIL: wedge run small.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1; }

"$PYTHON3" - "$tmp/schema.json" "$tmp/small.nc" <<'EOF'
import ctypes, json, sys
import netCDF4

try:
    ud = ctypes.CDLL("libudunits2.so.0")
except OSError as e:
    sys.exit(f"FAIL: cannot load libudunits2.so.0 ({e}): install libudunits2-0")
ud.ut_read_xml.restype = ctypes.c_void_p
ud.ut_read_xml.argtypes = [ctypes.c_char_p]
ud.ut_parse.restype = ctypes.c_void_p
ud.ut_parse.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
ud.ut_are_convertible.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
ud.ut_set_error_message_handler.argtypes = [ctypes.c_void_p]
ud.ut_set_error_message_handler(ctypes.cast(ud.ut_ignore, ctypes.c_void_p))
system = ud.ut_read_xml(None)
if not system:
    sys.exit("FAIL: udunits2 cannot read its unit database")
UT_ASCII = 0
one = ud.ut_parse(system, b"1", UT_ASCII)


def parses(u):
    return bool(ud.ut_parse(system, u.encode(), UT_ASCII))


bad = []
nat = ud.ut_parse(system, b"nat", UT_ASCII)
if not nat or ud.ut_are_convertible(nat, one):
    bad.append("'nat' was expected to parse as a pressure (nano-technical-atmosphere)")

schema = json.load(open(sys.argv[1]))
units = {}
items = [("", v) for v in schema["variables"]]
items += [(k["name"], v) for k in schema["kinds"] for v in k["variables"]]
items += [("setting", {"name": s["coordinate"], "units": s["units"], "long_name": s["long_name"]})
          for s in schema["settings"] if s.get("coordinate")]
for where, v in items:
    u = v.get("units")
    units[v["name"]] = u
    if u is None:
        continue
    if not parses(u):
        bad.append(f"{where} {v['name']}: units '{u}' is not UDUNITS-2")
    if u.strip() == "nat" or " nat" in u:
        bad.append(f"{where} {v['name']}: units '{u}'")
    # a loss in nats says so (the toy model's L_toy is a plain number)
    if "loss" in v["name"] and not v["name"].endswith("_ratio") and u == "1" \
            and "toy model" not in v["long_name"] and "nats" not in v["long_name"]:
        bad.append(f"{where} {v['name']}: a loss with units '1' and no 'nats' in its long_name")
print(f"ok: {sum(u is not None for u in units.values())} units in the schema parse with udunits2")

n = 0
with netCDF4.Dataset(sys.argv[2]) as f:
    for name, var in f.variables.items():
        if "units" not in var.ncattrs():
            continue
        u = var.units
        n += 1
        if not parses(u):
            bad.append(f"small.nc {name}: units '{u}' is not UDUNITS-2")
        if name in units and units[name] != u:
            bad.append(f"small.nc {name}: units '{u}', the schema says '{units[name]}'")
print(f"ok: {n} units of a real output parse and match the schema")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
rc=$?
[ $rc = 0 ] && echo "PASS: test_units" || echo "FAIL: test_units"
exit $rc
