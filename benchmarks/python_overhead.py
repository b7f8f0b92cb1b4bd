#!/usr/bin/env python3
"""What Python costs (docs/python.md): a DiffRec fit epoch and a 5,949-user evaluation on ml-1m_clean, through
`import recdiff` and through the C++ binary examples/diffrec_movielens, same options, seed and threads,
alternating runs on the same machine.

    PYTHONPATH=build/release/python /usr/bin/python3 benchmarks/python_overhead.py \\
        --binary build/release/examples/diffrec_movielens --data ../shared/data/diffrec/ml-1m_clean
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import recdiff


def cpp_run(binary, data, epochs, threads):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        subprocess.run([binary, "--preset", "ml-1m_clean", "--data", data, "--epochs", str(epochs), "--eval-every",
                        str(epochs), "--threads", str(threads), "--no-baselines", "--no-progress", "--report", report],
                       check=True, stdout=subprocess.DEVNULL)
        with open(report) as f:
            r = json.load(f)
    return r["seconds_per_epoch"], r["evaluation_seconds"]


def python_run(train, valid, test, epochs, threads):
    model = recdiff.DiffRec(epochs=epochs, threads=threads, seed=1)
    start = time.perf_counter()
    model.fit(train, show_progress=False)
    epoch = (time.perf_counter() - start) / epochs  # wall clock of fit() from Python, per epoch
    start = time.perf_counter()
    recdiff.evaluate(model, train, test, k=(10, 20, 50, 100), exclude=valid)
    evaluation = time.perf_counter() - start
    return epoch, statistics.median(model.fit_result["seconds"]), evaluation


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    train, valid, test = recdiff.datasets.diffrec_splits(args.data)
    rows = []
    for r in range(args.repeats):
        c_epoch, c_eval = cpp_run(args.binary, args.data, args.epochs, args.threads)
        p_epoch, p_inner, p_eval = python_run(train, valid, test, args.epochs, args.threads)
        rows.append((c_epoch, p_epoch, p_inner, c_eval, p_eval))
        print(f"run {r + 1}: epoch C++ {c_epoch:.3f} s, Python {p_epoch:.3f} s (inside fit {p_inner:.3f} s); "
              f"evaluation C++ {c_eval:.3f} s, Python {p_eval:.3f} s", flush=True)
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"median: epoch C++ {med[0]:.3f} s, Python {med[1]:.3f} s ({100 * (med[1] / med[0] - 1):+.1f}%); "
          f"evaluation C++ {med[3]:.3f} s, Python {med[4]:.3f} s ({100 * (med[4] / med[3] - 1):+.1f}%)")


if __name__ == "__main__":
    main()
