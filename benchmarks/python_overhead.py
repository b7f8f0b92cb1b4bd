#!/usr/bin/env python3
"""What Python costs (docs/python.md): a DiffRec fit epoch and a 5,949-user evaluation on ml-1m_clean, through
`import recdiff` and through the C++ binary examples/diffrec_movielens, same options, seed and threads,
alternating rounds on the same machine (C++, Python, C++, Python, ...). Both sides time the same work: the
epochs of fit() (the C++ report's median epoch, Python's wall clock of fit() per epoch) and one evaluation that
ranks all users for validation and for test from one inference pass (the binary's evaluation, the Python
`recdiff.evaluate(model, train, test, validation=valid)`), wall and CPU seconds (the process's, so all threads).

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
    return r["seconds_per_epoch"], r["cpu_seconds_per_epoch"], r["evaluation_seconds"], r["evaluation_cpu_seconds"]


def python_run(train, valid, test, epochs, threads):
    model = recdiff.DiffRec(epochs=epochs, threads=threads, seed=1)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(train, show_progress=False)
    epoch = (time.perf_counter() - start) / epochs  # wall clock of fit() from Python, per epoch
    epoch_cpu = (time.process_time() - cpu) / epochs
    start, cpu = time.perf_counter(), time.process_time()
    recdiff.evaluate(model, train, test, k=(10, 20, 50, 100), validation=valid)
    return epoch, epoch_cpu, time.perf_counter() - start, time.process_time() - cpu


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
        c = cpp_run(args.binary, args.data, args.epochs, args.threads)
        py = python_run(train, valid, test, args.epochs, args.threads)
        rows.append(c + py)
        print(f"round {r + 1}: epoch C++ {c[0]:.3f} s ({c[1]:.3f} CPU), Python {py[0]:.3f} s ({py[1]:.3f} CPU), "
              f"ratio {py[0] / c[0]:.3f}; evaluation C++ {c[2]:.3f} s ({c[3]:.3f} CPU), Python {py[2]:.3f} s "
              f"({py[3]:.3f} CPU), ratio {py[2] / c[2]:.3f}", flush=True)
    ratio = lambda i, j: statistics.median(row[j] / row[i] for row in rows)
    print(f"median ratio Python / C++: epoch wall {ratio(0, 4):.3f}, CPU {ratio(1, 5):.3f}; "
          f"evaluation wall {ratio(2, 6):.3f}, CPU {ratio(3, 7):.3f}")

if __name__ == "__main__":
    main()
