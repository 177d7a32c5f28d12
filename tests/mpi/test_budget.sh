#!/usr/bin/env bash
# test_budget.sh: training budgets that can be compared (train.steps, train.until_loss,
# train.until_plateau on a fixed training probe), probes of epochs a stopped training
# never reached (skipped, not failed), and trainings that did not learn.
#
# A 2-process run of a small MLP sweep: with until_loss, the faster learning rate
# stops early (stop_reason until_loss, steps_taken below the budget, its final
# snapshot at the stopping epoch, train_probe_loss at or below the target there and
# above it one epoch before); the tunnel probe of an epoch after the stop is
# skipped with a message naming the stopping epoch, the final-epoch probe reads the
# stopping point; the run exits 0.  train.steps: exactly that many steps, the epochs
# derived from it.  SGD at lr 1000: done, and did_not_learn = 1 (wedge status says
# so); a normal training: did_not_learn = 0.
set -u
t=test_budget
. "${top_srcdir:-.}/tests/mpi/lib.sh"

cat >"$tmp/until.yaml" <<'YAML'
name: until
data: {name: synthetic, synthetic_train: 600, synthetic_test: 200, synthetic_size: 10}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 30, batch_size: 32, probe_size: 300, until_loss: 1.5}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
  seed: [0, 1]
probes:
  tunnel: {epochs: [1, 20, 30], directions: 4, probe_size: 200}
YAML
mpi_run 2 run "$tmp/until.yaml" -o "$tmp/until.nc"
if [ "$rc" -ne 0 ]; then fail "until sweep: exit $rc, want 0"; show; fi
grep -q "skipped: training task [0-9]* stopped at epoch [0-9]* (its stop rule), before epoch 20" "$tmp/out" ||
    { fail "until sweep: no skipped probe reported"; show; }
"$PYTHON3" - "$tmp/until.nc" <<'PY' || fail "until sweep: the file's checks (above)"
import sys, netCDF4, numpy as np
d = netCDF4.Dataset(sys.argv[1]); d.set_auto_mask(False)
K = dict(zip(d["kind"].flag_meanings.split(), d["kind"].flag_values))
S = dict(zip(d["status"].flag_meanings.split(), d["status"].flag_values))
R = dict(zip(d["stop_reason"].flag_meanings.split(), d["stop_reason"].flag_values))
kind, st, lr = d["kind"][:], d["status"][:], d["lr"][:]
bad = []
for i in np.flatnonzero(kind == K["train"]):
    se = d["snapshot_epoch"][i]; last = int(se[se >= 0].max())
    pl = d["train_probe_loss"][i]; steps = int(d["steps_taken"][i]); why = int(d["stop_reason"][i])
    if lr[i] > 5e-3:
        if why != R["until_loss"] or last >= 30 or not (pl[last - 1] <= 1.5 < pl[last - 2]):
            bad.append(f"task {i}: lr {lr[i]} stop {why} last snapshot {last} probe loss {pl[last-2:last]}")
        if steps != last * 19:  # 600 images in batches of 32: 19 steps an epoch
            bad.append(f"task {i}: {steps} steps for {last} epochs")
    elif why != R["epochs"] or last != 30:
        bad.append(f"task {i}: lr {lr[i]} stop {why} last {last}, want epochs and 30")
    if int(d["did_not_learn"][i]) != 0:
        bad.append(f"task {i}: did_not_learn set on a training that learned")
tun = np.flatnonzero(kind == K["tunnel"])
pep, src = d["probe_epoch"][:], d["source_task"][:]
for i in tun:
    stopped = lr[src[i]] > 5e-3
    want = S["skipped"] if stopped and pep[i] == 20 else S["done"]
    if st[i] != want:
        bad.append(f"tunnel task {i} (epoch {pep[i]}, lr {lr[src[i]]}): status {st[i]}, want {want}")
print("\n".join(bad) if bad else "ok: stop rule, steps, snapshots, skipped probes")
sys.exit(1 if bad else 0)
PY
wedge_run status "$tmp/until.nc"
grep -q "2 skipped" "$tmp/out" || { fail "wedge status does not count the skipped probes"; show; }

cat >"$tmp/steps.yaml" <<'YAML'
name: steps
data: {name: synthetic, synthetic_train: 600, synthetic_test: 200, synthetic_size: 10}
model: {arch: mlp, depth: 1, hidden: 16}
train: {batch_size: 32, steps: 200}
sweep:
  zip: {train.optimizer: [sgd, adam], train.lr: [1000, 1.0e-3]}
YAML
wedge_run expand "$tmp/steps.yaml"
grep -q "2 tasks" "$tmp/out" || { fail "steps sweep: expand"; show; }
wedge_run run "$tmp/steps.yaml" -o "$tmp/steps.nc" --quiet
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { fail "steps sweep: exit $rc"; show; }
"$PYTHON3" - "$tmp/steps.nc" <<'PY' || fail "steps sweep: the file's checks (above)"
import sys, netCDF4, numpy as np
d = netCDF4.Dataset(sys.argv[1]); d.set_auto_mask(False)
bad = []
ep = d["epochs"][:]
if not (ep == 11).all():  # 200 steps at 19 an epoch: 11 epochs, the last cut at 10 steps
    bad.append(f"epochs {ep}, want 11 (derived from train.steps)")
for i in range(2):
    if d["status"][i] == 1 and int(d["steps_taken"][i]) != 200:
        bad.append(f"task {i}: {int(d['steps_taken'][i])} steps, want 200")
if d["status"][0] == 1 and int(d["did_not_learn"][0]) != 1:
    bad.append(f"SGD at lr 1000 finished but did_not_learn = {int(d['did_not_learn'][0])}")
if int(d["did_not_learn"][1]) != 0:
    bad.append("Adam at lr 1e-3 is flagged as not learning")
print("\n".join(bad) if bad else "ok: step budget and did_not_learn")
sys.exit(1 if bad else 0)
PY
wedge_run status "$tmp/steps.nc"
if ! grep -q "did not learn: 1 of" "$tmp/out" && ! grep -q "diverged" "$tmp/out"; then
    fail "wedge status does not flag the training that did not learn"
    show
fi

# a stop rule without its probe is refused at the key that needs it
printf 'name: x\ntrain: {until_loss: 0.5}\n' >"$tmp/bad.yaml"
wedge_run expand "$tmp/bad.yaml"
{ [ "$rc" -eq 1 ] && grep -q "bad.yaml:2:.*set train.probe_size" "$tmp/err"; } ||
    { fail "until_loss without probe_size: exit $rc"; show; }
finish
