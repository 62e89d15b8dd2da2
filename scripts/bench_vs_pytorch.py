#!/usr/bin/env python3
"""Side-by-side benchmark: feasible (the `feasible` binary) against PyTorch
with Cooper 1.0.1, on the same workloads, interleaved, in one run.

Run it through scripts/bench-vs-pytorch.sh, which builds the binary and the
Python environment (torch and cooper-optim only: no numpy, no torchvision).

Workloads (each side times its training loop only, never data loading or
evaluation):

  rate       `feasible reproduce rate --threads 1`: 40 runs (20 penalty
             coefficients, 20 dual step sizes) of full-batch gradient descent
             on 400 points, one thread. Python: the penalty runs as plain
             PyTorch (`loss + c (0.7 - proxy)`), the Lagrangian runs with
             Cooper's Lagrangian formulation, a DenseMultiplier, proxy
             constraints (strict_violation = the true 0/1 rate), dual SGD with
             the sweep's step size, AlternatingDualPrimalOptimizer.
  sparsity   the Table 2 sparsity task (`feasible bench sparsity-step`): the
             L0-gated MLP 784-300-100-10, batches of 256 (the first 8 batches
             of Fashion-MNIST, cycled), Adam 1e-3; penalized (density
             penalty 1.0) and constrained (density <= 0.5, Lagrangian, dual
             SGD 0.05, proxy constraint: the deterministic gates' density).
             Time per step, one and two threads.
  fl         one epoch of Feasible Learning on Fashion-MNIST (`feasible bench
             fl-epoch`): MLP 784-300-100-10, one multiplier per training
             sample (Cooper: IndexedMultiplier), nuPI (lr 1e-2, Kp = Ki = 1,
             zero start), AdamW 1e-3 (weight decay 1e-2), 235 steps of 256
             in the same shuffled order, one and two threads.

Both sides start from the same numbers: the initial weights, the rate data
and the Feasible Learning batch order are generated here with feasible's own
generator (SplitMix64, ported below). Only the L0 gates' noise differs (each
side draws its own).

Agreement check (before any time is printed; exit status 3 when it fails):
  rate       per run, |class 0 rate difference| <= 0.02 and |accuracy
             difference| <= 0.02 (8 of the 400 points).
  sparsity   |expected density difference| <= 0.01, |deterministic density
             difference| <= 0.01, multipliers within 2% (+ 1e-6), mean loss of
             the last 8 steps within 0.15 (the gate noise differs).
  fl         |train accuracy|, |test accuracy| differences <= 0.02, |fraction
             of training samples with loss <= eps| difference <= 0.03.
Feasible's restart of the multiplier on feasibility (the sparsity task) has
no counterpart in Cooper 1.0.1; the check refuses to report if either side
ends feasible (deterministic density <= 0.5), where the two would differ.
"""

import argparse
import gzip
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

import cooper

MASK = (1 << 64) - 1


# --- feasible's generator (crates/feasible-burn/src/random.rs) ---------------


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform_open0(self):
        return ((self.next_u64() >> 11) + 1.0) / float(1 << 53)

    def uniform_open(self):
        return ((self.next_u64() >> 11) + 0.5) / float(1 << 53)

    def normal(self):
        u1 = self.uniform_open0()
        u2 = self.uniform_open0()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.next_u64() % (i + 1)
            items[i], items[j] = items[j], items[i]


def uniform_matrix(rng, rows, cols, bound, draw):
    """`rows x cols` values `(2u - 1) bound` (f32), row-major, as feasible draws them."""
    values = [(2.0 * draw(rng) - 1.0) * bound for _ in range(rows * cols)]
    return torch.tensor(values, dtype=torch.float32).reshape(rows, cols)


# --- data ----------------------------------------------------------------------


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8)
    return data.reshape(*dims)


def find_idx(directory, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{stem}[.gz] not found in {directory}")


def load_fashion(directory):
    """Pixels scaled to [0, 1] as f32 `[n, 784]`, labels int64, as feasible loads them."""

    def split(prefix):
        images = read_idx(find_idx(directory, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(find_idx(directory, f"{prefix}-labels-idx1-ubyte"))
        return images.reshape(images.shape[0], -1).float() / 255.0, labels.long()

    train_x, train_y = split("train")
    val_x, val_y = split("t10k")
    return train_x, train_y, val_x, val_y


# --- workload a: the rate sweep (crates/feasible-lab/src/experiments/rate.rs) ---

RATE_TARGET = 0.7
RATE_PRIMAL_LR = 2e-2


def rate_sweep():
    return [0.0] + [10.0 ** (k / 3.0) for k in range(-12, 7)]


def rate_data():
    centres = [((0.0, 1.0), 1), ((-1.0, 0.0), 1), ((0.0, -1.0), 0), ((1.0, 0.0), 0)]
    rng = SplitMix64(0)
    features, labels = [], []
    for (cx, cy), label in centres:
        for _ in range(100):
            x = cx + 0.22 * rng.normal()
            y = cy + 0.22 * rng.normal()
            features.append((x, y))
            labels.append(label)
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.int64)
    signs = (2.0 * y.float() - 1.0).reshape(-1, 1)
    return x, y, signs


def rate_forward(model, x, signs):
    logits = model(x)
    loss = -F.logsigmoid(logits * signs).mean()
    proxy = torch.sigmoid(-logits).mean()
    return loss, proxy, logits


class OneInequality(cooper.ConstrainedMinimizationProblem):
    """One inequality constraint with a dense multiplier, Lagrangian formulation."""

    def __init__(self):
        super().__init__()
        self.multiplier = cooper.multipliers.DenseMultiplier(num_constraints=1)
        self.constraint = cooper.Constraint(
            constraint_type=cooper.ConstraintType.INEQUALITY,
            formulation_type=cooper.formulations.Lagrangian,
            multiplier=self.multiplier,
        )


class RateProblem(OneInequality):

    def compute_cmp_state(self, model, x, signs):
        loss, proxy, logits = rate_forward(model, x, signs)
        rate = (logits.detach() < 0).float().mean()
        state = cooper.ConstraintState(violation=RATE_TARGET - proxy, strict_violation=RATE_TARGET - rate)
        return cooper.CMPState(loss=loss, observed_constraints={self.constraint: state})


def rate_run(method, coef, steps, data):
    x, y, signs = data
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    primal = torch.optim.SGD(model.parameters(), lr=RATE_PRIMAL_LR)
    multiplier = None
    if method == "penalty":
        start = time.perf_counter()
        for _ in range(steps):
            primal.zero_grad(set_to_none=True)
            loss, proxy, _ = rate_forward(model, x, signs)
            (loss + coef * (RATE_TARGET - proxy)).backward()
            primal.step()
        seconds = time.perf_counter() - start
    else:
        cmp = RateProblem()
        dual = torch.optim.SGD(cmp.dual_parameters(), lr=coef, maximize=True)
        optimizer = cooper.optim.AlternatingDualPrimalOptimizer(
            cmp=cmp, primal_optimizers=primal, dual_optimizers=dual
        )
        kwargs = {"model": model, "x": x, "signs": signs}
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.roll(compute_cmp_state_kwargs=kwargs)
        seconds = time.perf_counter() - start
        multiplier = float(cmp.multiplier.weight.detach().reshape(-1)[0])
    with torch.no_grad():
        logits = model(x).reshape(-1)
    class0 = float((logits < 0).float().mean())
    accuracy = float(((logits >= 0) == (y == 1)).float().mean())
    return {"method": method, "coef": coef, "class0_rate": class0, "accuracy": accuracy,
            "multiplier": multiplier, "seconds": seconds}


def rate_python(steps, data):
    rows = [rate_run(m, c, steps, data) for m in ("penalty", "lagrangian") for c in rate_sweep()]
    return {"seconds": sum(r["seconds"] for r in rows), "rows": rows}


def rate_rust(binary, steps):
    out = run_rust([binary, "reproduce", "rate", "--threads", "1", "--json", "--steps", str(steps)], threads=1)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(rows) != 40:
        fail(f"`feasible reproduce rate` printed {len(rows)} rows, expected 40")
    return {"seconds": sum(r["seconds"] for r in rows), "rows": rows}


def rate_check(rust, python):
    problems, worst, where, exact = [], [0.0, 0.0], None, 0
    key = lambda r: (r["method"], round(math.log10(r["coef"]), 3) if r["coef"] > 0 else -99)
    py = {key(r): r for r in python["rows"]}
    for r in rust["rows"]:
        p = py.get(key(r))
        if p is None:
            problems.append(f"rate: no Python run for {r['method']} {r['coef']:.3g}")
            continue
        d_rate = abs(r["class0_rate"] - p["class0_rate"])
        d_acc = abs(r["accuracy"] - p["accuracy"])
        if max(d_rate, d_acc) > max(worst) or where is None:
            where = f"{r['method']} {r['coef']:.3g}"
        worst = [max(worst[0], d_rate), max(worst[1], d_acc)]
        exact += d_rate == 0.0 and d_acc == 0.0
        if d_rate > 0.02 + 1e-9 or d_acc > 0.02 + 1e-9:
            problems.append(
                f"rate {r['method']} {r['coef']:.3g}: class 0 rate {r['class0_rate']:.4f} vs {p['class0_rate']:.4f}, "
                f"accuracy {r['accuracy']:.4f} vs {p['accuracy']:.4f}"
            )
    summary = (
        f"rate: 40 runs, {exact} end identical; largest differences: class 0 rate {worst[0]:.4f}, "
        f"accuracy {worst[1]:.4f} (tolerance 0.02), at {where}"
    )
    return problems, summary


# --- workload b: the Table 2 sparsity task (crates/feasible-lab/src/bench.rs) ---

TEMPERATURE = 2.0 / 3.0
LOWER, UPPER = -0.1, 1.1
SPARSITY_DIMS = [784, 300, 100, 10]
_gated_init = None


def gated_init():
    """The initial (weight [in, out], bias, gate) of feasible's GatedMlp, seed 0."""
    global _gated_init
    if _gated_init is None:
        rng = SplitMix64(0)
        theta = (math.log(0.99) - math.log(0.01)) / 5.0
        layers = []
        for i, o in zip(SPARSITY_DIMS, SPARSITY_DIMS[1:]):
            bound = 1.0 / math.sqrt(i)
            w = uniform_matrix(rng, i, o, bound, SplitMix64.uniform_open)
            b = uniform_matrix(rng, 1, o, bound, SplitMix64.uniform_open).reshape(o)
            layers.append((w, b, torch.full((i, 1), theta, dtype=torch.float32)))
        _gated_init = layers
    return _gated_init


class L0Linear(torch.nn.Module):
    """feasible-burn's L0Linear: one hard-concrete gate per input unit, gate scale 5."""

    def __init__(self, weight, bias, gate, scale=5.0):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.clone())
        self.bias = torch.nn.Parameter(bias.clone())
        self.gate = torch.nn.Parameter(gate.clone())
        self.scale = scale

    def log_alpha(self):
        return self.gate * self.scale

    def forward(self, x, noise):
        logistic = torch.log(noise) - torch.log(1.0 - noise)
        s = torch.sigmoid((logistic + self.log_alpha()) / TEMPERATURE)
        gates = (s * (UPPER - LOWER) + LOWER).clamp(0.0, 1.0)
        return x @ (self.weight * gates) + self.bias

    def expected_nonzero(self):
        p = torch.sigmoid(self.log_alpha() - TEMPERATURE * math.log(-LOWER / UPPER))
        return p.sum() * self.weight.shape[1]

    def deterministic_nonzero(self):
        s = torch.sigmoid(self.log_alpha()) * (UPPER - LOWER) + LOWER
        return (s > 0).sum() * self.weight.shape[1]


class GatedMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList(L0Linear(w, b, g) for w, b, g in gated_init())
        self.total = sum(w.numel() for w, _, _ in gated_init())

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            noise = torch.rand(layer.gate.shape).clamp_(1e-7, 1.0 - 1e-7)
            x = layer(x, noise)
            if i < last:
                x = torch.relu(x)
        return x

    def expected_density(self):
        return sum(l.expected_nonzero() for l in self.layers) / self.total

    def deterministic_density(self):
        with torch.no_grad():
            return sum(l.deterministic_nonzero() for l in self.layers).float() / self.total


class SparsityProblem(OneInequality):

    def compute_cmp_state(self, model, x, y, losses):
        loss = F.cross_entropy(model(x), y)
        losses.append(loss.detach())
        density = model.expected_density()
        strict = model.deterministic_density()
        state = cooper.ConstraintState(violation=density - 0.5, strict_violation=strict - 0.5)
        return cooper.CMPState(loss=loss, observed_constraints={self.constraint: state})


def sparsity_python(kind, warmup, steps, batches):
    torch.manual_seed(11)
    model = GatedMlp()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    total = warmup + steps
    cmp = None
    if kind == "constrained":
        cmp = SparsityProblem()
        dual = torch.optim.SGD(cmp.dual_parameters(), lr=0.05, maximize=True)
        optimizer = cooper.optim.AlternatingDualPrimalOptimizer(cmp=cmp, primal_optimizers=adam, dual_optimizers=dual)
    start = time.perf_counter()
    for t in range(total):
        if t == warmup:
            start = time.perf_counter()
        x, y = batches[t % len(batches)]
        if cmp is None:
            adam.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            losses.append(loss.detach())
            (loss + 1.0 * model.expected_density()).backward()
            adam.step()
        else:
            optimizer.roll(compute_cmp_state_kwargs={"model": model, "x": x, "y": y, "losses": losses})
    seconds = time.perf_counter() - start
    last = losses[-len(batches):]
    with torch.no_grad():
        expected = float(model.expected_density())
    return {
        "seconds": seconds,
        "ms_per_step": 1e3 * seconds / max(steps, 1),
        "last_loss": float(sum(last) / len(last)),
        "expected_density": expected,
        "deterministic_density": float(model.deterministic_density()),
        "multiplier": float(cmp.multiplier.weight.detach().reshape(-1)[0]) if cmp else 1.0,
    }


def sparsity_rust(binary, kind, warmup, steps, threads):
    loop = {"penalized": "feasible-penalty", "constrained": "feasible-lagrangian"}[kind]
    out = run_rust(
        [binary, "bench", "sparsity-step", "--kind", loop, "--warmup", str(warmup), "--steps", str(steps), "--json"],
        threads=threads,
    )
    return json.loads(out.strip().splitlines()[-1])


def sparsity_check(label, rust, python):
    problems = []
    for name in ("expected_density", "deterministic_density"):
        if abs(rust[name] - python[name]) > 0.01:
            problems.append(f"{label}: {name} {rust[name]:.4f} vs {python[name]:.4f} (tolerance 0.01)")
    if abs(rust["multiplier"] - python["multiplier"]) > 0.02 * abs(rust["multiplier"]) + 1e-6:
        problems.append(f"{label}: multiplier {rust['multiplier']:.4f} vs {python['multiplier']:.4f} (tolerance 2%)")
    if abs(rust["last_loss"] - python["last_loss"]) > 0.15:
        problems.append(f"{label}: loss of the last 8 steps {rust['last_loss']:.4f} vs {python['last_loss']:.4f} (tolerance 0.15)")
    for side, r in (("feasible", rust), ("PyTorch", python)):
        if r["deterministic_density"] <= 0.5:
            problems.append(f"{label}: {side} ends feasible (density {r['deterministic_density']:.3f}); restarts would differ")
    return problems


# --- workload c: one epoch of Feasible Learning (experiments/feasible_learning.rs) ---

FL_EPSILON = -math.log(0.6)
_mlp_init = None
_fl_batches = None


def mlp_init():
    global _mlp_init
    if _mlp_init is None:
        rng = SplitMix64(0)
        layers = []
        for i, o in zip(SPARSITY_DIMS, SPARSITY_DIMS[1:]):
            bound = 1.0 / math.sqrt(i)
            w = uniform_matrix(rng, i, o, bound, SplitMix64.uniform_open0)
            b = uniform_matrix(rng, 1, o, bound, SplitMix64.uniform_open0).reshape(o)
            layers.append((w, b))
        _mlp_init = layers
    return _mlp_init


def fl_batches(n):
    """feasible's epoch_batches: ids shuffled by SplitMix64(seed ^ 0x5eed), chunks of 256."""
    global _fl_batches
    if _fl_batches is None:
        ids = list(range(n))
        SplitMix64(0 ^ 0x5EED).shuffle(ids)
        _fl_batches = [torch.tensor(ids[i : i + 256], dtype=torch.int64) for i in range(0, n, 256)]
    return _fl_batches


def mlp():
    layers = []
    for k, (w, b) in enumerate(mlp_init()):
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(w.t())
            linear.bias.copy_(b)
        layers.append(linear)
        if k < len(mlp_init()) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class FeasibleLearningProblem(cooper.ConstrainedMinimizationProblem):
    def __init__(self, n):
        super().__init__()
        self.multiplier = cooper.multipliers.IndexedMultiplier(num_constraints=n)
        self.constraint = cooper.Constraint(
            constraint_type=cooper.ConstraintType.INEQUALITY,
            formulation_type=cooper.formulations.Lagrangian,
            multiplier=self.multiplier,
        )

    def compute_cmp_state(self, model, x, y, ids):
        losses = F.cross_entropy(model(x), y, reduction="none")
        state = cooper.ConstraintState(violation=losses - FL_EPSILON, constraint_features=ids)
        return cooper.CMPState(loss=None, observed_constraints={self.constraint: state})


def fl_python(fashion):
    train_x, train_y, val_x, val_y = fashion
    n = train_x.shape[0]
    model = mlp()
    cmp = FeasibleLearningProblem(n)
    primal = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    dual = cooper.optim.nuPI(
        cmp.dual_parameters(), lr=1e-2, Kp=1.0, Ki=1.0, ema_nu=0.0,
        init_type=cooper.optim.nuPIInitType.ZEROS, maximize=True,
    )
    optimizer = cooper.optim.AlternatingDualPrimalOptimizer(cmp=cmp, primal_optimizers=primal, dual_optimizers=dual)
    batches = fl_batches(n)
    start = time.perf_counter()
    for ids in batches:
        optimizer.roll(compute_cmp_state_kwargs={"model": model, "x": train_x[ids], "y": train_y[ids], "ids": ids})
    seconds = time.perf_counter() - start

    def measure(x, y):
        with torch.no_grad():
            logits = model(x)
            losses = F.cross_entropy(logits, y, reduction="none")
            return (losses <= FL_EPSILON).float().mean().item(), (logits.argmax(1) == y).float().mean().item(), losses.mean().item()

    train_sat, train_acc, train_loss = measure(train_x, train_y)
    val_sat, val_acc, _ = measure(val_x, val_y)
    return {
        "steps": len(batches), "seconds": seconds, "train_frac_satisfied": train_sat, "val_frac_satisfied": val_sat,
        "train_acc": train_acc, "val_acc": val_acc, "mean_train_loss": train_loss,
        "max_multiplier": float(cmp.multiplier.weight.detach().max()),
    }


def fl_rust(binary, threads):
    return json.loads(run_rust([binary, "bench", "fl-epoch", "--json"], threads=threads).strip().splitlines()[-1])


def fl_check(label, rust, python):
    problems = []
    for name, tol in (("train_acc", 0.02), ("val_acc", 0.02), ("train_frac_satisfied", 0.03)):
        if abs(rust[name] - python[name]) > tol:
            problems.append(f"{label}: {name} {rust[name]:.4f} vs {python[name]:.4f} (tolerance {tol})")
    return problems


# --- driver ----------------------------------------------------------------------


def fail(message, status=2):
    print(f"bench-vs-pytorch: {message}", file=sys.stderr)
    sys.exit(status)


def run_rust(argv, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"`{' '.join(argv)}` failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout


def load():
    """The 1, 5 and 15-minute load averages, to judge the noise of the times."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def ratio(python, rust):
    return python / rust if rust > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feasible", required=True, help="the feasible binary")
    parser.add_argument("--fashion-dir", help="directory of Fashion-MNIST's IDX files (sparsity, fl)")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 1,000 rate steps, 30 sparsity steps")
    parser.add_argument("--threads", choices=["1", "2", "both"], default="both",
                        help="threads of the sparsity and Feasible Learning workloads (the rate sweep: always 1)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3, --quick 1)")
    parser.add_argument("--only", default="rate,sparsity,fl", help="comma-separated subset of rate,sparsity,fl")
    args = parser.parse_args()

    repeats = args.repeats or (1 if args.quick else 3)
    rate_steps = 1000 if args.quick else 10_000
    sp_warmup, sp_steps = (5, 30) if args.quick else (20, 200)
    threads = [1, 2] if args.threads == "both" else [int(args.threads)]
    only = set(args.only.split(","))
    if not only <= {"rate", "sparsity", "fl"} or not only:
        fail(f"--only takes a subset of rate,sparsity,fl, not `{args.only}`")
    if repeats < 1:
        fail("--repeats must be at least 1")

    print(f"torch {torch.__version__}, cooper {getattr(cooper, '__version__', '?')}, "
          f"{os.cpu_count()} CPUs; repeats {repeats}; rate steps {rate_steps}; "
          f"sparsity {sp_warmup} warm-up + {sp_steps} timed steps; load average {load()}", flush=True)
    fashion = None
    if only & {"sparsity", "fl"}:
        if not args.fashion_dir or not os.path.isdir(args.fashion_dir):
            fail("Fashion-MNIST not found: fetch it with `feasible data fetch fashion-mnist` or set "
                 "FASHION_MNIST_DIR (or run --only rate)")
        try:
            fashion = load_fashion(args.fashion_dir)
        except (OSError, ValueError, RuntimeError) as e:
            fail(f"reading Fashion-MNIST from {args.fashion_dir} failed: {e}")
    sp_batches = None
    if fashion is not None:
        x, y = fashion[0], fashion[1]
        sp_batches = [(x[b * 256 : (b + 1) * 256].contiguous(), y[b * 256 : (b + 1) * 256].contiguous()) for b in range(8)]
    rate_in = rate_data() if "rate" in only else None

    # results[(workload, threads)] = list of (rust, python) per repeat
    results = {}
    plan = []
    if "rate" in only:
        plan.append(("rate sweep (40 runs)", 1))
    for t in threads:
        if "sparsity" in only:
            plan += [("sparsity penalized", t), ("sparsity constrained", t)]
        if "fl" in only:
            plan.append(("FL epoch", t))

    problems = []
    summaries = []
    for r in range(repeats):
        for name, t in plan:
            print(f"  repeat {r + 1}/{repeats}: {name}, {t} thread(s) ...", file=sys.stderr, flush=True)
            torch.set_num_threads(t)
            if name.startswith("rate"):
                rust = rate_rust(args.feasible, rate_steps)
                python = rate_python(rate_steps, rate_in)
                p, s = rate_check(rust, python)
                if r == 0:
                    summaries.append(s)
            elif name.startswith("sparsity"):
                kind = name.split()[1]
                rust = sparsity_rust(args.feasible, kind, sp_warmup, sp_steps, t)
                python = sparsity_python(kind, sp_warmup, sp_steps, sp_batches)
                rust["seconds_per_step"] = rust["ms_per_step"] / 1e3
                python["seconds_per_step"] = python["ms_per_step"] / 1e3
                p = sparsity_check(f"{name} ({t} thr)", rust, python)
                if r == 0:
                    summaries.append(
                        f"{name} ({t} thr): loss of last 8 steps {rust['last_loss']:.4f} vs {python['last_loss']:.4f}; "
                        f"expected density {rust['expected_density']:.4f} vs {python['expected_density']:.4f}; "
                        f"deterministic density {rust['deterministic_density']:.4f} vs {python['deterministic_density']:.4f}; "
                        f"multiplier {rust['multiplier']:.4f} vs {python['multiplier']:.4f}"
                    )
            else:
                rust = fl_rust(args.feasible, t)
                python = fl_python(fashion)
                p = fl_check(f"{name} ({t} thr)", rust, python)
                if r == 0:
                    summaries.append(
                        f"{name} ({t} thr, {rust['steps']} vs {python['steps']} steps): train acc {rust['train_acc']:.4f} vs "
                        f"{python['train_acc']:.4f}; test acc {rust['val_acc']:.4f} vs {python['val_acc']:.4f}; "
                        f"train samples with loss <= eps {rust['train_frac_satisfied']:.4f} vs {python['train_frac_satisfied']:.4f}; "
                        f"max multiplier {rust['max_multiplier']:.4f} vs {python['max_multiplier']:.4f}"
                    )
            problems += [f"repeat {r + 1}: {x}" for x in p]
            results.setdefault((name, t), []).append((rust, python))
        if r == 0:
            print("\nWhere both sides end (feasible vs PyTorch+Cooper), first repeat:")
            for s in summaries:
                print("  " + s)
            if problems:
                break
    if problems:
        print("\nThe two sides disagree beyond the tolerances; no times are reported:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(3)
    print("  all within tolerance (see the header of scripts/bench_vs_pytorch.py)\n")

    print(f"Times: median of {repeats} interleaved repeat(s); ratio = PyTorch+Cooper time / feasible time; "
          f"load average now {load()} (on a busy machine, two threads suffer most)")
    header = f"{'workload':<24}{'threads':>8}{'unit':>10}{'feasible':>12}{'PyTorch':>12}{'ratio':>8}   runs (feasible | PyTorch)"
    print(header)
    print("-" * len(header))
    for (name, t), pairs in results.items():
        if name.startswith("sparsity"):
            unit, scale, key = "ms/step", 1e3, "seconds_per_step"
        else:
            unit, scale, key = "s", 1.0, "seconds"
        rust = [a[key] * scale for a, _ in pairs]
        python = [b[key] * scale for _, b in pairs]
        mr, mp = statistics.median(rust), statistics.median(python)
        runs = " ".join(f"{v:.3f}" for v in rust) + " | " + " ".join(f"{v:.3f}" for v in python)
        print(f"{name:<24}{t:>8}{unit:>10}{mr:>12.3f}{mp:>12.3f}{ratio(mp, mr):>7.2f}x   {runs}")
    for t in threads:
        pen, con = results.get(("sparsity penalized", t)), results.get(("sparsity constrained", t))
        if pen and con:
            for side, i in (("feasible", 0), ("PyTorch", 1)):
                a = statistics.median(p[i]["seconds_per_step"] for p in pen)
                b = statistics.median(p[i]["seconds_per_step"] for p in con)
                print(f"  sparsity, {t} thread(s), {side}: constrained vs penalized {100 * (b / a - 1):+.1f}%")


if __name__ == "__main__":
    main()
