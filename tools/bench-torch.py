#!/usr/bin/python3
"""bench-torch.py: the PyTorch-on-CPU comparison for wedge's C benchmark.

`make bench` prints wedge's table (tests/bench/bench_net.c); this script prints
the same table for PyTorch: the same models (SimpleCNN at width 1, 2, 4 and a
784-256-256-10 tanh MLP), the same data (Fashion-MNIST, consecutive batches of
128), the same loss and optimizer (cross-entropy, Adam lr 1e-3), one thread,
and the same timing scheme (3 warm-up steps, then the best seconds per step of
5 repetitions of budget/5 seconds each).  GFLOP/s use the same FLOP counts as
wedge, and the percentages are relative to torch's own 1024^3 torch.mm rate
(wedge's are relative to OpenBLAS sgemm).

Usage:  tools/bench-torch.py [budget-seconds [model-substring]]
        e.g. tools/bench-torch.py 3.0 simplecnn

Absolute figures drift with machine load, so run both benchmarks in one
sitting and compare ratios.  Needs python3-torch and python3-numpy
(tools/setup.sh --bench) and Fashion-MNIST under
/usr/share/datasets/fashion-mnist (tools/setup.sh).

The script re-executes itself once with glibc's malloc tuned (unless the
variables are already set): MALLOC_MMAP_THRESHOLD_=32 MiB and
MALLOC_TRIM_THRESHOLD_=1 GiB, plus OMP_NUM_THREADS=1 and MKL_NUM_THREADS=1.
With glibc's default (dynamic) thresholds PyTorch's per-step activation
buffers are mmap'ed or trimmed back to the kernel and re-faulted every step,
which costs it up to two thirds of its speed here.  The mmap threshold alone is
not enough (setting it also freezes the trim threshold at 128 KiB, so freed
memory at the top of the heap is still returned every step).  32 MiB is the
documented maximum for M_MMAP_THRESHOLD on 64-bit (man mallopt) and measured as
fast as larger values.
"""
import gzip
import os
import sys
import time

DATA_DIR = "/usr/share/datasets/fashion-mnist"
BATCH = 128
# Set before the process starts (glibc reads them at its first malloc); see above.
ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),  # documented maximum on 64-bit
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def reexec_with_env():
    if all(k in os.environ for k in ENV):
        return
    env = dict(os.environ)
    for k, v in ENV.items():
        env.setdefault(k, v)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def load_idx(name, magic):
    import numpy as np

    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        buf = f.read()
    head = np.frombuffer(buf, dtype=">u4", count=2)
    if head[0] != magic:
        raise ValueError("%s: bad IDX magic 0x%x" % (name, head[0]))
    n = int(head[1])
    if magic == 0x803:
        h, w = (int(x) for x in np.frombuffer(buf, dtype=">u4", count=2, offset=8))
        return np.frombuffer(buf, dtype=np.uint8, count=n * h * w, offset=16).reshape(n, 1, h, w)
    return np.frombuffer(buf, dtype=np.uint8, count=n, offset=8)


def main():
    reexec_with_env()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError:
        print("bench-torch: PyTorch not found: run tools/setup.sh --bench "
              "(installs python3-torch)", file=sys.stderr)
        return 2
    import numpy as np

    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    try:
        images = load_idx("train-images-idx3-ubyte.gz", 0x803)
        labels = load_idx("train-labels-idx1-ubyte.gz", 0x801)
    except OSError as e:
        print("bench-torch: %s\n(run tools/setup.sh to install Fashion-MNIST)" % e,
              file=sys.stderr)
        return 1
    X = torch.from_numpy(images.astype(np.float32) / 255.0).contiguous()
    Y = torch.from_numpy(labels.astype(np.int64))
    ntrain = X.shape[0]

    class SimpleCNN(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16 * c, 3, padding=1)
            self.conv2 = nn.Conv2d(16 * c, 32 * c, 3, padding=1)
            self.conv3 = nn.Conv2d(32 * c, 32 * c, 3, padding=1)
            self.fc = nn.Linear(32 * c * 3 * 3, 10)
            # (kind, H*W or 1, in, out) per weight layer, for the FLOP count
            self.shape = [("conv", 28 * 28, 1, 16 * c), ("conv", 14 * 14, 16 * c, 32 * c),
                          ("conv", 7 * 7, 32 * c, 32 * c), ("dense", 1, 32 * c * 9, 10)]

        def forward(self, x):
            x = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
            x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
            x = F.max_pool2d(torch.tanh(self.conv3(x)), 2)
            return self.fc(torch.flatten(x, 1))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 256)
            self.fc2 = nn.Linear(256, 256)
            self.fc3 = nn.Linear(256, 10)
            self.shape = [("dense", 1, 784, 256), ("dense", 1, 256, 256), ("dense", 1, 256, 10)]

        def forward(self, x):
            x = torch.flatten(x, 1)
            x = torch.tanh(self.fc1(x))
            x = torch.tanh(self.fc2(x))
            return self.fc3(x)

    def flops(model, train):
        f = 0.0
        for i, (kind, hw, cin, cout) in enumerate(model.shape):
            mac = hw * (9.0 if kind == "conv" else 1.0) * cin * cout
            f += 2.0 * mac * ((2.0 if i == 0 else 3.0) if train else 1.0)
        return f

    assert sum(p.numel() for p in SimpleCNN(1).parameters()) == 16938

    no_grad = getattr(torch, "inference_mode", torch.no_grad)

    def time_steps(model, opt, train):
        s = 0

        def step(s):
            first = (s * BATCH) % (ntrain - BATCH)
            x, y = X[first:first + BATCH], Y[first:first + BATCH]
            if train:
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
            else:
                with no_grad():
                    F.cross_entropy(model(x), y)

        model.train(train)
        for _ in range(3):
            step(s)
            s += 1
        best = 1e30
        for _ in range(5):
            n = 0
            t0 = time.perf_counter()
            while True:
                step(s)
                s += 1
                n += 1
                t = time.perf_counter() - t0
                if t >= budget / 5:
                    break
            best = min(best, t / n)
        return best

    def mm_rate(n):
        a = torch.rand(n, n)
        b = torch.rand(n, n)
        torch.mm(a, b)
        best = 1e30
        for _ in range(5):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        return 2.0 * n ** 3 / best / 1e9

    peak = mm_rate(1024)
    print("# PyTorch %s, 1 thread, batch 128, Fashion-MNIST" % torch.__version__)
    print("# torch.mm 1024^3: %.1f GFLOP/s" % peak)
    print("# malloc: MALLOC_MMAP_THRESHOLD_=%s MALLOC_TRIM_THRESHOLD_=%s"
          % (os.environ.get("MALLOC_MMAP_THRESHOLD_"), os.environ.get("MALLOC_TRIM_THRESHOLD_")))
    print("%-14s %10s %10s %9s %9s %7s %7s"
          % ("model", "train/s", "eval/s", "trainGF", "evalGF", "train%", "eval%"))
    sys.stdout.flush()

    models = [("simplecnn-c1", lambda: SimpleCNN(1)), ("simplecnn-c2", lambda: SimpleCNN(2)),
              ("simplecnn-c4", lambda: SimpleCNN(4)), ("mlp-256x2", MLP)]
    torch.manual_seed(0)
    for name, make in models:
        if only and only not in name:
            continue
        model = make()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        tt = time_steps(model, opt, True)
        te = time_steps(model, opt, False)
        gt = flops(model, True) * BATCH / tt / 1e9
        ge = flops(model, False) * BATCH / te / 1e9
        print("%-14s %10.0f %10.0f %9.2f %9.2f %6.0f%% %6.0f%%"
              % (name, BATCH / tt, BATCH / te, gt, ge, 100 * gt / peak, 100 * ge / peak))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
