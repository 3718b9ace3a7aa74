#!/usr/bin/python3
"""make_tables.py - exports small tables to CSV for bench_defaults and
test_defaults_long, and scores sklearn's MLP at its defaults on each.

Every table is split 70/30 with train_test_split(test_size=0.3,
random_state=0, stratify=y for classification); the two halves are written
as NAME_train.csv / NAME_test.csv with a header and the target in the last
column "target" (a regression target always with a decimal point, "151.0",
so that synapse's --task auto reads it as a number to fit). sklearn's MLPClassifier / MLPRegressor at their defaults
(random_state=0) is fitted on the training half; its test score (accuracy,
or R^2) goes into sklearn_scores.csv with the table's size.

Features are written as sklearn ships them. sklearn's MLP is given them
through StandardScaler, as its user guide asks ("Multi-layer Perceptron is
sensitive to feature scaling ... standardize it to have mean 0 and variance
1"), since synapse standardises its inputs by default too: the comparison is
of the training defaults, not of the scaling.

Run with Debian's python3 (python3-sklearn): /usr/bin/python3 make_tables.py DIR
With --score DIR it writes nothing and prints, per table, its name, sklearn's
test score, epochs and fit seconds (bench_defaults times sklearn this way).
"""
import csv
import os
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def tables():
    """(name, X, y, is_classification, in the asserted set)."""
    out = []
    for name, loader in [("iris", datasets.load_iris), ("wine", datasets.load_wine),
                         ("breast_cancer", datasets.load_breast_cancer),
                         ("digits", datasets.load_digits)]:
        d = loader()
        out.append((name, d.data, d.target, True, True))
    d = datasets.load_diabetes()
    out.append(("diabetes", d.data, d.target, False, True))
    x, y = datasets.make_moons(n_samples=1000, noise=0.3, random_state=0)
    out.append(("moons", x, y, True, True))
    x, y = datasets.make_circles(n_samples=1000, noise=0.2, factor=0.5, random_state=0)
    out.append(("circles", x, y, True, True))
    # Checks of the rules beyond the asserted sets (reported, not asserted).
    x, y = datasets.make_classification(n_samples=2000, n_features=20, n_informative=10,
                                        n_classes=4, random_state=0)
    out.append(("classification", x, y, True, False))
    x, y = datasets.make_regression(n_samples=1000, n_features=20, n_informative=10,
                                    noise=10.0, random_state=0)
    out.append(("regression", x, y, False, False))
    x, y = datasets.make_friedman1(n_samples=1000, noise=1.0, random_state=0)
    out.append(("friedman1", x, y, False, False))
    d = datasets.load_linnerud()
    out.append(("linnerud", d.data, d.target[:, 0], False, False))
    x, y = datasets.make_blobs(n_samples=300, centers=3, cluster_std=3.0, random_state=0)
    out.append(("blobs", x, y, True, False))
    return out


def write(path, x, y, classify):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x%d" % j for j in range(x.shape[1])] + ["target"])
        for row, t in zip(x, y):
            w.writerow(["%.7g" % v for v in row] + [int(t) if classify else repr(float(t))])


def main():
    args = sys.argv[1:]
    score_only = bool(args) and args[0] == "--score"
    if score_only:
        args = args[1:]
    out_dir = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for name, x, y, classify, asserted in tables():
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0,
                                              stratify=y if classify else None)
        if not score_only:
            write(os.path.join(out_dir, name + "_train.csv"), xtr, ytr, classify)
            write(os.path.join(out_dir, name + "_test.csv"), xte, yte, classify)
        mlp = (MLPClassifier if classify else MLPRegressor)(random_state=0)
        model = make_pipeline(StandardScaler(), mlp)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(xtr, ytr)
        seconds = time.perf_counter() - start
        score = "%.4f" % model.score(xte, yte)
        if score_only:
            print(name, score, mlp.n_iter_, "%.3f" % seconds, flush=True)
            continue
        rows.append([name, "classify" if classify else "regress", len(y), x.shape[1],
                     score, mlp.n_iter_, int(asserted)])
        print(*rows[-1])
    if score_only:
        return
    with open(os.path.join(out_dir, "sklearn_scores.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "task", "rows", "features", "sklearn_score", "sklearn_epochs",
                    "asserted"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
