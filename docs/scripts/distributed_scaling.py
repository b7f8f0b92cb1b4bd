#!/usr/bin/env python3
"""The many-node scaling model of docs/distributed.md (issue 19).

One data-parallel step on N nodes = the compute of this node's shard + one ring allreduce of the gradient
(no overlap): t_comm = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency. Strong scaling (the global batch B
fixed, as our runs: the N-rank run follows the one-process run): t_compute = B * t_row / N, efficiency
E = t_compute / (t_compute + t_comm). The per-node batch that keeps E >= 0.8: b >= 4 * t_comm / t_row.

Usage: docs/scripts/distributed_scaling.py NAME PARAMETERS SECONDS_PER_ROW BATCH [NAME ...]
  e.g. distributed_scaling.py DiffRec 3620000 3.1e-4 400
"""
import sys

LATENCY = 5e-6  # seconds per message of the ring (a typical MPI latency on Ethernet/RoCE; 1-2 us on InfiniBand)
BANDWIDTHS = {"10 Gb/s": 10e9 / 8, "25 Gb/s": 25e9 / 8, "100 Gb/s": 100e9 / 8}
NODES = [2, 4, 8, 16, 32, 64, 128]


def comm_seconds(n, nbytes, bandwidth):
    return 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * LATENCY


def main(argv):
    if len(argv) % 4 != 0 or not argv:
        sys.exit(__doc__)
    for i in range(0, len(argv), 4):
        name, params, t_row, batch = argv[i], int(argv[i + 1]), float(argv[i + 2]), int(argv[i + 3])
        nbytes = 4 * params
        print(f"\n{name}: {params / 1e6:.2f} M parameters = {nbytes / 1e6:.1f} MB per allreduce, "
              f"{t_row * 1e3:.3f} ms per row, global batch {batch} ({batch * t_row * 1e3:.0f} ms per step on one node)")
        print("| link | " + " | ".join(f"{n} nodes" for n in NODES) + " | per-node batch for 80% |")
        print("| --- |" + " --- |" * (len(NODES) + 1))
        for link, bw in BANDWIDTHS.items():
            cells = []
            for n in NODES:
                compute = batch * t_row / n
                cells.append(f"{compute / (compute + comm_seconds(n, nbytes, bw)):.0%}")
            need = 4 * comm_seconds(128, nbytes, bw) / t_row
            print(f"| {link} | " + " | ".join(cells) + f" | {need:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
