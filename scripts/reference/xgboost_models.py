#!/usr/bin/python3
# Reference models for `proml import xgboost` (trainer/import/xgboost.ts; docs/import.md).
# Run with Debian's python3 (apt-get install python3-xgboost, 1.7), not the pyenv python3 first on PATH:
#   /usr/bin/python3 scripts/reference/xgboost_models.py fixtures/import/xgboost
# Input: nothing (seeded synthetic data, numpy's PCG64 with fixed seeds; no download).
# Output: one directory per model under the output directory, each with
#   model.json  XGBoost's own JSON model (Booster.save_model), unedited
#   rows.csv    held-out rows: the feature columns (float32 values as the shortest decimal that
#               rounds back to the same float32; empty = missing, i.e. NaN for XGBoost), then
#               XGBoost's predictions (float32, printed the same way): `margin` and `pred` (scalar
#               models) or `margin_K` and `pred_K` per class (multiclass)
#   info.json   objective, feature names, row counts, xgboost version
# Models: binary:logistic with missing values and base_score 0.3; reg:squarederror with feature
# names and missing values; multi:softprob with 3 classes; count:poisson; binary:logistic with a
# categorical feature (XGBoost 1.7 partition splits, tree_method hist).
import json
import os
import sys

import numpy as np
import xgboost as xgb

out = sys.argv[1]


def exact(v):
    """A float32 value as the shortest decimal that rounds back to it (parse as double, round to f32)."""
    return "" if np.isnan(v) else str(np.float32(v))


def save(name, booster, X, names, margin, pred, objective, dtrain_rows):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    booster.save_model(os.path.join(d, "model.json"))
    k = 1 if margin.ndim == 1 else margin.shape[1]
    m2 = margin.reshape(len(X), k)
    p2 = pred.reshape(len(X), k)
    head = list(names)
    head += ["margin", "pred"] if k == 1 else [f"margin_{c}" for c in range(k)] + [f"pred_{c}" for c in range(k)]
    with open(os.path.join(d, "rows.csv"), "w") as f:
        f.write(",".join(head) + "\n")
        for i in range(len(X)):
            cells = [exact(v) for v in X[i]] + [exact(v) for v in m2[i]] + [exact(v) for v in p2[i]]
            f.write(",".join(cells) + "\n")
    info = {
        "objective": objective,
        "features": list(names),
        "train_rows": dtrain_rows,
        "test_rows": len(X),
        "classes": k,
        "xgboost": xgb.__version__,
    }
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")


def holes(rng, X, cols, frac):
    for c in cols:
        X[rng.random(len(X)) < frac, c] = np.nan


def fit(name, params, rounds, X, y, names, n_train, feature_types=None, named=False):
    Xtr, Xte, ytr = X[:n_train], X[n_train:], y[:n_train]
    kw = {"feature_names": names} if named else {}
    if feature_types is not None:
        kw["feature_types"] = feature_types
        kw["enable_categorical"] = True
    dtr = xgb.DMatrix(Xtr, label=ytr, **kw)
    dte = xgb.DMatrix(Xte, **kw)
    b = xgb.train({"seed": 0, "nthread": 1, **params}, dtr, rounds)
    margin = b.predict(dte, output_margin=True)
    pred = b.predict(dte)
    save(name, b, Xte, names, margin, pred, params["objective"], n_train)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# binary:logistic with missing values (NaN) in two features, wide value ranges, base_score 0.3
rng = np.random.default_rng(11)
n = 5000
X = np.column_stack(
    [
        rng.normal(size=n),
        rng.exponential(200.0, size=n),
        rng.uniform(-1, 1, size=n),
        rng.normal(3.0, 0.01, size=n),  # tight values: thresholds differ only in the last f32 bits
        rng.integers(0, 20, size=n).astype(np.float64),
    ]
).astype(np.float32)
z = X[:, 0] + 0.01 * (X[:, 1] - 200) - 2 * X[:, 2] ** 2 + 80 * (X[:, 3] - 3) + 0.1 * (X[:, 4] - 10)
y = (rng.random(n) < sigmoid(z)).astype(int)
holes(rng, X, [1, 2], 0.2)
fit(
    "binary_missing",
    {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "base_score": 0.3},
    20,
    X,
    y,
    [f"f{j}" for j in range(5)],
    3500,
)

# reg:squarederror with feature names and missing values
rng = np.random.default_rng(12)
n = 5000
X = np.column_stack(
    [rng.uniform(18, 80, size=n), rng.lognormal(10, 1, size=n), rng.normal(size=n), rng.normal(size=n)]
).astype(np.float32)
y = 0.05 * X[:, 0] + np.log(X[:, 1]) + np.sin(2 * X[:, 2]) + X[:, 2] * X[:, 3] + rng.normal(0, 0.3, size=n)
holes(rng, X, [3], 0.1)
fit(
    "regression",
    {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.3},
    20,
    X,
    y,
    ["age", "income", "score_a", "score_b"],
    4000,
    named=True,
)

# multi:softprob with 3 classes
rng = np.random.default_rng(13)
n = 5000
X = rng.normal(size=(n, 4)).astype(np.float32)
logits = np.column_stack([X[:, 0] + X[:, 1], -X[:, 0] + 0.5 * X[:, 2], X[:, 3] ** 2 - 1])
p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
y = np.array([rng.choice(3, p=row) for row in p])
holes(rng, X, [2], 0.1)
fit(
    "multiclass",
    {"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.3},
    10,
    X,
    y,
    [f"f{j}" for j in range(4)],
    4300,
)

# count:poisson
rng = np.random.default_rng(14)
n = 3000
X = rng.normal(size=(n, 3)).astype(np.float32)
y = rng.poisson(np.exp(0.5 + 0.7 * X[:, 0] - 0.4 * np.abs(X[:, 1])))
fit("poisson", {"objective": "count:poisson", "max_depth": 3, "eta": 0.3}, 15, X, y, ["x0", "x1", "x2"], 2500)

# binary:logistic with a categorical feature (codes 0..5; partition splits) and a numeric one
rng = np.random.default_rng(15)
n = 3000
cat = rng.integers(0, 6, size=n)
X = np.column_stack([rng.normal(size=n), cat.astype(np.float64)]).astype(np.float32)
effect = np.array([-1.0, 0.5, 2.0, -0.5, 1.0, 0.0])
y = (rng.random(n) < sigmoid(X[:, 0] + effect[cat])).astype(int)
holes(rng, X, [1], 0.1)
fit(
    "binary_categorical",
    {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "tree_method": "hist", "max_cat_to_onehot": 1},
    10,
    X,
    y,
    ["x", "kind"],
    2500,
    feature_types=["q", "c"],
)
