"""Few labels, the estimators' defaults: 50 or 200 labeled documents in all, 10,000 unlabeled.

The case semi-supervised learning is for, as a user meets it: no separate validation set (the
estimator holds out ``validation_fraction`` of the few labeled documents), every setting at
its default but the dataset's max length. Run *r* draws its labeled documents (stratified,
seed *r*) from the training part of the protocol's run *r*, and gives the protocol's unlabeled
documents; all are tested on the dataset's test set. Beside the supervised baseline and
SSVAE-{KL,z} (alpha 1000, the default; with several ``--alphas``, the fit whose held-out
score is best) stand the classic peers on the same documents (the mean-vectors peer with
``--embeddings``). ``--objectives linear-ssvae`` fits LinearSSVAEClassifier, which chooses its
own alpha by cross-validation on the labeled documents.

    python examples/few_labels.py --data-home ../shared/data --results results/few_labels
    python examples/few_labels.py --data-home ../shared/data --results results/few_labels \\
        --embeddings fasttext --datasets yelp --n-jobs 2 --threads 1
    python examples/few_labels.py --quick --results /tmp/few
    python examples/few_labels.py --data-home ../shared/data --results results/few_50k \\
        --datasets yelp --n-unlabeled 50000
    python examples/few_labels.py --data-home ../shared/data --results results/linear \\
        --embeddings glove-6b-50d --objectives linear-ssvae mean-vectors-logreg

Writes ``runs.jsonl`` (resumable), ``few_labels.csv`` and ``few_labels.md`` into ``--results``.
"""

import sys
from pathlib import Path
from types import SimpleNamespace

from sklearn.model_selection import train_test_split

import _experiments as ex
from sslvae_text import SSVAETextClassifier

POOL = 4000  # the protocol's training documents per run, which the few labels are drawn from


def few_label_runs(runs, n_labeled):
    """Each run with ``n_labeled`` of its training documents, and no validation fold."""
    out = []
    for run in runs:
        X, _, y, _ = train_test_split(run.X_train, run.y_train, train_size=n_labeled,
                                      stratify=run.y_train, random_state=run.run)
        out.append(SimpleNamespace(run=run.run, labeled_proportion=n_labeled / POOL, X_train=X,
                                   y_train=y, X_val=None, y_val=None, X_unlabeled=run.X_unlabeled,
                                   X_test=run.X_test, y_test=run.y_test))
    return out


def write_report(log, args, config, notes):
    header = ["Dataset", "Objective"] + [f"{n} labeled" for n in args.n_labeled]
    rows, selected = [], set()
    for dataset in args.datasets:
        cells = {(o, n): ex.cell(log, dataset, o, args, config, proportion=n / POOL)
                 for o in args.objectives for n in args.n_labeled}
        best = {n: max((cells[o, n][0][0] for o in args.objectives if cells[o, n][0]), default=None)
                for n in args.n_labeled}
        for objective in args.objectives:
            row = [ex.DISPLAY[dataset], objective]
            for n in args.n_labeled:
                stats, _, _, chosen = cells[objective, n]
                selected |= {(ex.RunLog.key(r), dataset) for r in chosen.values()}
                row.append(ex.fmt(stats, bold=stats is not None and stats[0] == best[n]))
            rows.append(row)
    lines = ex.header_lines("Few labels: test accuracy (%) with the estimators' defaults", args, notes)
    lines += [ex.markdown_table(header, rows), "",
              f"Mean(std, ddof=1) over runs {', '.join(map(str, args.runs))}; best in bold. "
              + ("No validation set: the estimators train on every labeled document for "
                 f"{args.settings.max_updates or 'max_updates'} updates; " if args.settings.no_validation else
                 "The labeled documents include the validation set the estimators hold out "
                 "(validation_fraction=0.1); ")
              + (f"{args.n_unlabeled:,} unlabeled documents." if args.n_unlabeled else
                 "10,000 unlabeled documents where the corpus has them."), ""]
    ex.write_text(Path(args.results) / "few_labels.md", "\n".join(lines))
    ex.write_csv(Path(args.results) / "few_labels.csv",
                 ex.csv_rows(log, config, selected, tests={(d, d) for d in args.datasets}), ex.CSV_FIELDS)


def main(argv=None):
    ap = ex.parser(__doc__, Path(__file__).name)
    ap.add_argument("--n-labeled", nargs="+", type=int, default=[50, 200],
                    help="labeled documents in all, the validation set included (default: 50 200)")
    ap.add_argument("--n-unlabeled", type=int, default=None,
                    help="unlabeled documents per run (default: the protocol's 10,000, or what the corpus has)")
    ap.set_defaults(datasets=["yelp", "ag_news", "dbpedia"],
                    objectives=["supervised", "ssvae-kl-z", "tfidf-logreg", "self-training",
                                "mean-vectors-logreg"], runs=[0, 1, 2])
    ap.set_defaults(alphas=[SSVAETextClassifier().alpha])  # the estimator's default
    ap.set_defaults(paper_model=False)  # the estimators' defaults, not the paper's model
    args = ex.finish_args(ap.parse_args(argv), argv)
    if args.quick:
        args.n_labeled = [n for n in args.n_labeled if n <= 30] or [20]
    log = ex.RunLog(args.results)
    extra = {"few_labels": True} | ({"n_unlabeled": args.n_unlabeled} if args.n_unlabeled else {})
    config = args.settings.fingerprint(extra=extra)
    runs, notes = ex.load_all(args.datasets, args)
    jobs = [job for n in args.n_labeled for dataset in args.datasets
            for job in ex.make_jobs(dataset, few_label_runs(runs[dataset], n), args.objectives,
                                    args.alphas, args.settings, config=config)]
    return ex.sweep(jobs, log, args, lambda final=False: write_report(log, args, config, notes),
                    "few_labels.md")


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
