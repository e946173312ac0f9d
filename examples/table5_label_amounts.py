"""Table 5 of Felhi et al. (2021): accuracy with 1%, 3%, 10%, 30% and 100% of the 4,000 labels.

Each run's 4,000 training documents are reduced to the proportion (stratified and nested: the
1% sample is inside the 3% one, ...); the validation fold (1,000) and the 10,000 unlabeled
documents stay. Otherwise as Table 2, but with the estimator's alpha (1000) unless ``--alphas``
gives a grid, selected on the validation fold; the 100% column
reuses Table 2's fits when both scripts share ``--results``. A semi-supervised objective whose
accuracy is above (``*``) or below (``†``) SSVAE's with p < 0.05 is marked, as in the paper;
the test is a paired t-test over the runs (scipy.stats.ttest_rel): the runs of two objectives
share their folds, so they pair up.

    python examples/table5_label_amounts.py --data-home ../shared/data --results results/table5
    python examples/table5_label_amounts.py --quick --results /tmp/t5

Writes ``runs.jsonl``, ``table5.csv``, ``table5.md`` and ``table5.png`` (accuracy against the
labeled amount per objective; needs matplotlib) into ``--results``.
"""

import sys
from pathlib import Path

import _experiments as ex
from sslvae_text import SSVAETextClassifier

DATASET_ORDER = ("imdb", "ag_news", "yelp", "dbpedia")  # the paper's order


def write_report(log, args, config, notes, plot=False):
    datasets = [d for d in DATASET_ORDER if d in args.datasets]
    header = ["Dataset", "Objective"] + [f"{100 * p:g}% (ours)" for p in args.proportions] + \
             [f"{100 * p:g}% (paper)" for p in args.proportions]
    rows, selected, counts, curves = [], set(), {}, {}
    for dataset in datasets:
        cells = {(o, p): ex.cell(log, dataset, o, args, config, proportion=p)
                 for o in args.objectives for p in args.proportions}
        for (objective, p), (_, accuracies, _, chosen) in cells.items():
            selected |= {(ex.RunLog.key(r), dataset) for r in chosen.values()}
            counts[f"{ex.DISPLAY[dataset]} {objective} {100 * p:g}%"] = len(accuracies)
        best = {p: max((cells[o, p][0][0] for o in args.objectives if cells[o, p][0]), default=None)
                for p in args.proportions}
        for objective in args.objectives:
            ours = []
            for p in args.proportions:
                stats, accuracies = cells[objective, p][:2]
                mark = ""
                if ex.has_alpha(objective) and objective != "SSVAE" and ("SSVAE", p) in cells:
                    diff, pvalue = ex.paired_test(accuracies, cells["SSVAE", p][1])
                    if pvalue is not None and pvalue < 0.05:
                        mark = "*" if diff > 0 else "†"
                ours.append(ex.fmt(stats, mark, bold=stats is not None and stats[0] == best[p]))
                if stats is not None:
                    curves.setdefault(dataset, {}).setdefault(objective, []).append((p, stats[0], stats[1] or 0.0))
            published = dict(zip(ex.PROPORTIONS, ex.PAPER_TABLE5[dataset].get(objective, [])))
            paper = [ex.fmt(published[p][:2], published[p][2]) if p in published else "-"
                     for p in args.proportions]
            rows.append([ex.DISPLAY[dataset], objective] + ours + paper)
    lines = ex.header_lines("Table 5: accuracy (%) with varying amounts of labeled data", args, notes)
    lines += [ex.markdown_table(header, rows), "",
              "Percentages of each run's 4,000 training labels. Mean(std, ddof=1) over runs; best of "
              "ours in bold; `*` (`†`): above (below) SSVAE with p < 0.05, paired t-test over the runs "
              "both objectives finished. " + ex.runs_note(counts, len(args.runs)), ""]
    if plot:
        lines += ["![accuracy against labeled amount](table5.png)", ""]
    ex.write_text(Path(args.results) / "table5.md", "\n".join(lines))
    ex.write_csv(Path(args.results) / "table5.csv",
                 ex.csv_rows(log, config, selected, tests={(d, d) for d in datasets}), ex.CSV_FIELDS)
    if plot:
        plot_curves(curves, datasets, Path(args.results) / "table5.png", quick=args.quick)


def plot_curves(curves, datasets, path, quick=False):
    plt = ex.import_pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for objective, points in curves.get(dataset, {}).items():
            p, mean, std = zip(*sorted(points))
            ax.errorbar([100 * x for x in p], mean, yerr=std, marker="o", capsize=3, label=objective)
        ax.set_xscale("log")
        ax.set_xlabel("labeled documents (% of 4,000)")
        ax.set_title(ex.DISPLAY[dataset] + (" (quick)" if quick else ""))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = ex.parser(__doc__, Path(__file__).name)
    ap.add_argument("--proportions", nargs="+", type=float, default=None,
                    help="labeled proportions (default: 0.01 0.03 0.1 0.3 1)")
    # as a user would fit it: the estimator's alpha; --alphas 1 10 100 1000 is the paper's grid
    ap.set_defaults(alphas=[SSVAETextClassifier().alpha])
    args = ex.finish_args(ap.parse_args(argv), argv)
    if args.proportions is None:
        args.proportions = [0.1, 1.0] if args.quick else list(ex.PROPORTIONS)
    ex.import_pyplot()  # fail now, not after hours of fits
    log = ex.RunLog(args.results)
    config = args.settings.fingerprint()
    jobs, notes = [], {}
    for p in args.proportions:
        runs, notes = ex.load_all(args.datasets, args, labeled_proportion=p)
        for dataset in args.datasets:
            jobs += ex.make_jobs(dataset, runs[dataset], args.objectives, args.alphas, args.settings, config=config)
    return ex.sweep(jobs, log, args,
                    lambda final=False: write_report(log, args, config, notes, plot=final), "table5.md")


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
