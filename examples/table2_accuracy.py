"""Table 2 of Felhi et al. (2021): test accuracy of the five objectives on each dataset.

For each dataset and each of the protocol's 5 runs (4,000 labeled documents, 10,000 unlabeled,
a 1,000-document validation fold), every objective is fitted once per alpha in {1, 10, 100,
1000}, early-stopping on the run's validation fold; the alpha with the best accuracy on that
fold is kept, and the test accuracy of that very model is reported (never retrained on
training + validation). Cells are mean(std) over runs, in %, beside the paper's.

    python examples/table2_accuracy.py --data-home ../shared/data --results results/table2
    python examples/table2_accuracy.py --quick --results /tmp/t2          # a smoke test
    python examples/table2_accuracy.py --data-home ../shared/data --results results/table2 \\
        --datasets yelp --n-jobs 2 --threads 1                             # resumes if rerun

Writes ``runs.jsonl`` (every finished fit, read back by a rerun to skip it), ``table2.csv`` and
``table2.md`` into ``--results``.
"""

import sys
from pathlib import Path

import _experiments as ex


def write_report(log, args, config, notes):
    header = ["Objective"] + [f"{ex.DISPLAY[d]} {w}" for d in args.datasets for w in ("(ours)", "(paper)")]
    cells, counts, alphas, selected = {}, {}, [], set()
    for dataset in args.datasets:
        for objective in args.objectives:
            stats, accuracies, chosen_alpha, chosen = ex.cell(log, dataset, objective, args, config)
            cells[dataset, objective] = stats
            counts[f"{ex.DISPLAY[dataset]} {objective}"] = len(accuracies)
            selected |= {(ex.RunLog.key(r), dataset) for r in chosen.values()}
            alphas.append([ex.DISPLAY[dataset], objective] + [
                "-" if run not in chosen_alpha else ("n/a" if chosen_alpha[run] is None else f"{chosen_alpha[run]:g}")
                for run in args.runs])
    best = {d: max((cells[d, o][0] for o in args.objectives if cells[d, o]), default=None) for d in args.datasets}
    rows = []
    for objective in args.objectives:
        row = [objective]
        for dataset in args.datasets:
            stats = cells[dataset, objective]
            row += [ex.fmt(stats, bold=stats is not None and stats[0] == best[dataset]),
                    ex.fmt(ex.PAPER_TABLE2.get(objective, {}).get(dataset))]
        rows.append(row)
    lines = ex.header_lines("Table 2: accuracy (%) with 4,000 labeled documents", args, notes)
    lines += [ex.markdown_table(header, rows), "",
              "Mean(standard deviation, ddof=1) over runs of the test accuracy of the model whose "
              "alpha won on the run's validation fold; best of ours in bold. "
              + ex.runs_note(counts, len(args.runs)), "",
              "Alpha selected per run (validation fold):", "",
              ex.markdown_table(["Dataset", "Objective"] + [f"run {r}" for r in args.runs], alphas), ""]
    ex.write_text(Path(args.results) / "table2.md", "\n".join(lines))
    ex.write_csv(Path(args.results) / "table2.csv",
                 ex.csv_rows(log, config, selected, tests={(d, d) for d in args.datasets}), ex.CSV_FIELDS)


def main(argv=None):
    args = ex.finish_args(ex.parser(__doc__, Path(__file__).name).parse_args(argv), argv)
    log = ex.RunLog(args.results)
    config = args.settings.fingerprint()
    runs, notes = ex.load_all(args.datasets, args)
    jobs = [job for dataset in args.datasets
            for job in ex.make_jobs(dataset, runs[dataset], args.objectives, args.alphas, args.settings, config=config)]
    return ex.sweep(jobs, log, args, lambda final=False: write_report(log, args, config, notes),
                    "table2.md")


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
