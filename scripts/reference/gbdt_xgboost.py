#!/usr/bin/python3
# XGBoost reference for the gbdt trainer (docs/training.md, "Gradient-boosted trees"): trains XGBoost
# (`tree_method hist`, one thread) with the hyperparameters of fixtures/train/gbdt/model.pml on the
# data of scripts/reference/make-gbdt-data.ts and reports the held-out AUC and the fit time.
# Run with Debian's python3 (python3-xgboost 1.7, python3-sklearn), not the pyenv python3 on PATH:
#   node --import tsx scripts/reference/make-gbdt-data.ts /tmp/g --train 30000 --test 10000
#   /usr/bin/python3 scripts/reference/gbdt_xgboost.py /tmp/g/train.csv /tmp/g/test.csv \
#       --out fixtures/train/gbdt/xgboost.json --key test
# (the bench, bench/gbdt-train.bench.ts, runs it on 100,000 + 25,000 rows with --repeat and reads stdout).
# Input: train.csv, test.csv (x0..x11, cat, y; empty cell = missing), --repeat N (fits timed; the
# model of the first is scored), --out FILE --key NAME (merge the result into a JSON file).
# Output: JSON on stdout: xgboost version, parameters, rows, SHA-256 of both files, held-out AUC,
# log loss, fit seconds (wall and process CPU) of each repeat (xgb.train only: DMatrix construction
# is outside the timing).
# `cat` enters as XGBoost's native categorical feature (feature_types 'c', codes = the model's label
# order c00..c19), so both sides split it by category partitions; base_score = mean(y_train), the
# constant proml's trainer starts from.
import argparse
import hashlib
import json
import math
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score

CATEGORIES = [f"c{i:02d}" for i in range(20)]
PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "lambda": 1.0,
    "alpha": 0.0,
    "min_child_weight": 1.0,
    "max_bin": 256,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "nthread": 1,
    "seed": 0,
}
ROUNDS = 100


def read(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    cat = header.index("cat")
    ycol = header.index("y")
    feats = [i for i in range(len(header)) if i != ycol]
    X = np.empty((len(rows), len(feats)), dtype=np.float64)
    for r, row in enumerate(rows):
        for j, i in enumerate(feats):
            cell = row[i]
            if i == cat:
                X[r, j] = CATEGORIES.index(cell)
            else:
                X[r, j] = float(cell) if cell != "" else math.nan
    y = np.array([float(row[ycol]) for row in rows])
    types = ["c" if i == cat else "q" for i in feats]
    return X, y, types


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--key")
    a = ap.parse_args()
    Xtr, ytr, types = read(a.train)
    Xte, yte, _ = read(a.test)
    params = dict(PARAMS, base_score=float(ytr.mean()))
    dtr = xgb.DMatrix(Xtr, label=ytr, feature_types=types, enable_categorical=True, nthread=1)
    dte = xgb.DMatrix(Xte, label=yte, feature_types=types, enable_categorical=True, nthread=1)
    seconds = []
    cpu = []
    booster = None
    for i in range(a.repeat):
        t0 = time.perf_counter()
        c0 = time.process_time()
        b = xgb.train(params, dtr, num_boost_round=ROUNDS)
        cpu.append(time.process_time() - c0)
        seconds.append(time.perf_counter() - t0)
        if booster is None:
            booster = b
    p = booster.predict(dte)
    result = {
        "xgboost": xgb.__version__,
        "params": params,
        "rounds": ROUNDS,
        "train": {"rows": int(len(ytr)), "sha256": sha256(a.train)},
        "test": {"rows": int(len(yte)), "sha256": sha256(a.test)},
        "auc": float(roc_auc_score(yte, p)),
        "logloss": float(log_loss(yte, p)),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }
    if a.out:
        try:
            with open(a.out) as f:
                doc = json.load(f)
        except FileNotFoundError:
            doc = {}
        doc[a.key or "result"] = result
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    print(json.dumps(result))


main()
