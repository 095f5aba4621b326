#!/usr/bin/env python3
"""Re-combines the components of `diswot quality --jsonl` into variants of the ensemble,
to see what a change would do before building it (Docs/benchmarks.md, issue 10, fifth
session). Not the product's code: it approximates the ensemble's calibration (median and
IQR / 1.349 over the sample itself instead of the 64-architecture reference; the
reliabilities the real calibrations logged, given below), then applies the same rule
(Kelley shrinkage r·z, weight r, components with r < 1/2 left out, mean of log F).

Usage: Scripts/ensemble-variants.py RUN.jsonl TRUTH.csv
RUN.jsonl: a `diswot quality --proxies relation,relation_stages,meco,jacob_cov,log_synflow
--jsonl RUN.jsonl` run over several probe seeds.
"""
import csv
import itertools
import json
import sys

import numpy as np
from scipy.stats import kendalltau, spearmanr

# Reliabilities the real calibrations logged on NAS-Bench-201 with CIFAR-10 probes
# (probe seeds 0-2, Docs/benchmarks.md); relation_stages from the fourth session's runs.
RELIABILITY = {"relation": 0.81, "relation_stages": 0.82, "meco": 0.98, "jacob_cov": 0.93, "log_synflow": 1.0}
LOG_SCALE = {"relation", "relation_stages", "log_synflow"}
LOWER_IS_BETTER = {"relation", "relation_stages"}
ENSEMBLE = ["relation", "meco", "jacob_cov", "log_synflow"]


def main(run, truth_file):
    truth = {row["arch"]: float(row["cifar10_test"]) for row in csv.DictReader(open(truth_file))}
    rows = {}
    for line in open(run):
        d = json.loads(line)
        rows.setdefault(d["seed"], {})[d["key"]] = d["scores"]
    seeds = sorted(rows)
    keys = sorted(set.intersection(*[set(r) for r in rows.values()]))
    y = np.array([truth[k] for k in keys])

    def raw(c, s):
        return np.array([np.nan if rows[s][k].get(c) is None else rows[s][k][c] for k in keys], float)

    def transformed(c, v):
        if c in LOG_SCALE:
            v = np.where(v > 0, np.log(np.where(v > 0, v, 1)), np.nan)
        return -v if c in LOWER_IS_BETTER else v

    def ensemble(values, measurements=1):
        total, weights = 0.0, 0.0
        for c, v in values.items():
            # The reliability of a mean of k measurements (Spearman-Brown): what a
            # calibration of averaged measurements would find.
            r = measurements * RELIABILITY[c] / (1 + (measurements - 1) * RELIABILITY[c])
            if r < 0.5:
                continue
            finite = np.isfinite(v)
            q1, median, q3 = np.percentile(v[finite], [25, 50, 75])
            z = np.where(finite, np.maximum(-8, r * (v - median) / ((q3 - q1) / 1.349)), -8)
            x = z * np.pi / np.sqrt(3)
            total = total + r * np.where(x >= 0, -np.log1p(np.exp(-x)), x - np.log1p(np.exp(x)))
            weights += r
        return total / weights

    def quality(score):
        top = len(y) // 10
        shared = set(np.argsort(-score)[:top]) & set(np.argsort(-y)[:top])
        return spearmanr(score, y)[0], kendalltau(score, y)[0], len(shared) / top

    def report(name, scores):
        per_seed = [quality(s) for s in scores]
        rho, tau, top = np.mean(per_seed, axis=0)
        stability = np.mean([spearmanr(a, b)[0] for a, b in itertools.combinations(scores, 2)]) if len(scores) > 1 else float("nan")
        seeds_rho = " / ".join(f"{p[0]:.3f}" for p in per_seed)
        picks = " / ".join(f"{y[np.argmax(s)]:.2f}" for s in scores)
        print(f"| {name} | {tau:.3f} | {rho:.3f} | {top:.3f} | {stability:.3f} | {seeds_rho} | {picks} |")

    print(f"{len(keys)} architectures, probe seeds {seeds}")
    print(f"sample's best: {y.max():.2f} %")
    print("| variant | Kendall τ | Spearman ρ | top-10 % | stability ρ | ρ per probe seed | accuracy of its pick per probe seed |\n|---|---|---|---|---|---|---|")
    single = {s: {c: transformed(c, raw(c, s)) for c in RELIABILITY} for s in seeds}
    report("ensemble as built (relation, meco, jacob_cov, log_synflow)", [ensemble({c: single[s][c] for c in ENSEMBLE}) for s in seeds])
    report("relation_stages as the teacher component",
           [ensemble({"relation_stages" if c == "relation" else c: single[s]["relation_stages" if c == "relation" else c] for c in ENSEMBLE}) for s in seeds])
    report("without a teacher component", [ensemble({c: single[s][c] for c in ENSEMBLE[1:]}) for s in seeds])
    averaged = {c: transformed(c, np.mean([raw(c, s) for s in seeds], axis=0)) for c in ENSEMBLE}
    report(f"every component averaged over the {len(seeds)} probe seeds", [ensemble(averaged, len(seeds))])
    report(f"the {len(seeds)} probe seeds' ensemble scores averaged",
           [np.mean([ensemble({c: single[s][c] for c in ENSEMBLE}) for s in seeds], axis=0)])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
