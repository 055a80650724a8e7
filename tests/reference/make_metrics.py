"""Writes tests/reference/metrics.json: competition metrics computed with scikit-learn.

Run from the repository root: `python3 tests/reference/make_metrics.py` (needs numpy and
scikit-learn; never run in CI). The layout is the one of ../shared/reference (see its README):
each case has `params`, `inputs` (`probs` [N, C] f32, `labels` [N] i64) and `expected`
(`value`, a scalar), and tests read sizes and values from the file.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, cohen_kappa_score,
                             f1_score, log_loss, roc_auc_score)


def tensor(a, dtype):
    a = np.asarray(a)
    data = a.ravel().tolist() if dtype == "i64" else [float(np.float32(v)) for v in a.ravel()]
    return {"shape": list(a.shape), "dtype": dtype, "data": data}


def probs_for(rng, n, c, ties=False):
    logits = rng.normal(size=(n, c)).astype(np.float32)
    if ties:  # coarse scores: many equal probabilities across samples
        logits = np.round(logits).astype(np.float32)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def labels_for(rng, probs, c, skill, missing=()):
    n = probs.shape[0]
    noisy = rng.integers(0, c, size=n)
    good = probs.argmax(axis=1)
    y = np.where(rng.random(n) < skill, good, noisy)
    for m in missing:  # a class nobody has (predictions may still name it)
        y[y == m] = (m + 1) % c
    return y


def main():
    rng = np.random.default_rng(20261201)
    metrics = {
        "accuracy": lambda y, p: 100.0 * accuracy_score(y, p.argmax(1)),
        "balanced_accuracy": lambda y, p: 100.0 * balanced_accuracy_score(y, p.argmax(1)),
        "macro_f1": lambda y, p: f1_score(y, p.argmax(1), average="macro", zero_division=0),
        "qwk": lambda y, p: cohen_kappa_score(y, p.argmax(1), weights="quadratic"),
        "log_loss": lambda y, p: log_loss(y, p.astype(np.float64), labels=list(range(p.shape[1]))),
        "auc": lambda y, p: (roc_auc_score(y, p[:, 1].astype(np.float64)) if p.shape[1] == 2 else
                             roc_auc_score(y, p.astype(np.float64), multi_class="ovr",
                                           average="macro", labels=list(range(p.shape[1])))),
    }
    shapes = [(40, 2, False, ()), (64, 3, False, ()), (97, 5, True, ()), (120, 7, False, ()),
              (50, 4, False, (2,)), (33, 6, True, (0, 5))]
    cases = []
    for i, (n, c, ties, missing) in enumerate(shapes):
        probs = probs_for(rng, n, c, ties)
        y = labels_for(rng, probs, c, skill=0.6, missing=missing)
        # the float32 values exactly, as podium reads them (rows sum to 1 within 1e-6)
        p64 = probs.astype(np.float64)
        for name, f in metrics.items():
            if name == "auc" and missing:
                continue  # undefined: sklearn refuses it, podium returns an error (tested apart)
            cases.append({
                "name": f"{name}_{i}_n{n}_c{c}",
                "op": name,
                "params": {"num_classes": c, "ties": ties, "missing_classes": list(missing)},
                "inputs": {"probs": tensor(probs, "f32"), "labels": tensor(y, "i64")},
                "expected": {"value": {"shape": [], "dtype": "f32", "data": [float(f(y, p64))]}},
                "atol": 1e-9, "rtol": 1e-6,
            })
    out = {
        "topic": "metrics",
        "about": ("Competition metrics of predicted probabilities `probs` [N, C] against `labels` "
                  "[N]: accuracy and balanced accuracy (percent) and macro F1 (zero_division=0) "
                  "and quadratic weighted kappa of the arg-max predictions, one-vs-rest macro "
                  "ROC AUC (binary AUC of class 1 for C = 2), multi-class log loss with "
                  "labels=range(C). Probabilities are float32 softmax rows, given to "
                  "scikit-learn as the same values in float64. Cases with `ties` round the "
                  "logits so scores tie; `missing_classes` are classes absent from the labels."),
        "generated_with": {"scikit-learn": sklearn.__version__, "numpy": np.__version__,
                           "python": sys.version.split()[0]},
        "cases": cases,
    }
    with open("tests/reference/metrics.json", "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
