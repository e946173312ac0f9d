"""Table 4 of Felhi et al. (2021): out of domain, trained on IMDB and tested on Yelp, and the reverse.

Each objective is trained on the source corpus as for Table 2 (the protocol's 5 runs, 4,000
labeled documents, alpha in {1, 10, 100, 1000} selected on the source's validation fold) and
the selected model is scored on the target's test set, with the source's vocabulary. A model
reads target documents up to the target's max length (IMDB 256 tokens, Yelp 16). Every fit is
also scored on the source's own test set, so Table 2 reuses these fits when both scripts share
``--results``. ``+`` marks a mean significantly above Supervised's (paired t-test over the
runs, scipy.stats.ttest_rel, p < 0.05), as the paper marks it.

    python examples/table4_out_of_domain.py --data-home ../shared/data --results results/table4
    python examples/table4_out_of_domain.py --quick --results /tmp/t4

Writes ``runs.jsonl``, ``table4.csv`` and ``table4.md`` into ``--results``.
"""

import sys
from pathlib import Path

import _experiments as ex

DIRECTIONS = (("imdb", "yelp"), ("yelp", "imdb"))


def write_report(log, args, config, notes, directions):
    header = ["Dataset"] + [f"{o} {w}" for o in args.objectives for w in ("(ours)", "(paper)")]
    rows, selected, counts = [], set(), {}
    for source, target in directions:
        cells = {o: ex.cell(log, source, o, args, config, test=target) for o in args.objectives}
        baseline = cells.get("Supervised", (None, {}))[1]
        best = max((c[0][0] for c in cells.values() if c[0]), default=None)
        row = [f"{ex.DISPLAY[source]}→{ex.DISPLAY[target]}"]
        for objective in args.objectives:
            stats, accuracies, _, chosen = cells[objective]
            selected |= {(ex.RunLog.key(r), target) for r in chosen.values()}
            counts[f"{ex.DISPLAY[source]}→{ex.DISPLAY[target]} {objective}"] = len(accuracies)
            mark = ""
            if objective != "Supervised":
                diff, p = ex.paired_test(accuracies, baseline)
                mark = "+" if p is not None and p < 0.05 and diff > 0 else ""
            paper = ex.PAPER_TABLE4[source, target][objective]
            row += [ex.fmt(stats, mark, bold=stats is not None and stats[0] == best),
                    ex.fmt(paper[:2], paper[2])]
        rows.append(row)
    lines = ex.header_lines("Table 4: out-of-domain accuracy (%)", args, notes)
    lines += [ex.markdown_table(header, rows), "",
              "Mean(std, ddof=1) over runs; `+`: above Supervised with p < 0.05 (paired t-test over "
              "the runs both have). " + ex.runs_note(counts, len(args.runs)), ""]
    ex.write_text(Path(args.results) / "table4.md", "\n".join(lines))
    ex.write_csv(Path(args.results) / "table4.csv",
                 ex.csv_rows(log, config, selected, tests=set(directions)), ex.CSV_FIELDS)


def main(argv=None):
    ap = ex.parser(__doc__, Path(__file__).name, peers=False, datasets=("imdb", "yelp"))
    args = ex.finish_args(ap.parse_args(argv), argv)
    directions = [(s, t) for s, t in DIRECTIONS if s in args.datasets and t in args.datasets]
    if not directions:
        raise SystemExit("Table 4 needs both imdb and yelp in --datasets.")
    log = ex.RunLog(args.results)
    config = args.settings.fingerprint()
    runs, notes = ex.load_all([d for d in ("imdb", "yelp") if d in args.datasets], args)
    jobs = []
    for source, target in directions:
        target_test = (runs[target][0].X_test, runs[target][0].y_test)
        jobs += ex.make_jobs(source, runs[source], args.objectives, args.alphas, args.settings, config=config,
                             tests=[source, target], test_sets={target: target_test})
    return ex.sweep(jobs, log, args,
                    lambda final=False: write_report(log, args, config, notes, directions), "table4.md")


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
