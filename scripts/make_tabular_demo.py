"""Write one of scikit-learn's bundled tables to CSV for the tabular anomaly demo (offline).

    python scripts/make_tabular_demo.py                       # runs/data/breast_cancer.csv
    python scripts/make_tabular_demo.py --dataset=wine --out=runs/data/wine.csv

breast_cancer: 569 rows x 30 numeric features, column `diagnosis` = benign (357) |
malignant (212). configs/anomaly_tabular.py trains on benign rows only and scores malignant
ones as anomalies. wine: 178 rows x 13 features, column `cultivar` = class_0 | 1 | 2.
"""

import argparse
import csv
import os

from sklearn import datasets

TABLES = {"breast_cancer": (datasets.load_breast_cancer, "diagnosis"),
          "wine": (datasets.load_wine, "cultivar")}


def write_table(name: str, path: str) -> str:
    loader, label_column = TABLES[name]
    bunch = loader()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(n.replace(" ", "_") for n in bunch.feature_names), label_column])
        for row, target in zip(bunch.data, bunch.target, strict=True):
            w.writerow([*(repr(float(v)) for v in row), bunch.target_names[target]])
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(TABLES), default="breast_cancer")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    path = write_table(args.dataset, args.out or f"runs/data/{args.dataset}.csv")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
