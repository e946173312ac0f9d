"""Alpha selection on each run's validation fold, summaries, and the CSV and Markdown writers."""

import csv
import os
import time
from pathlib import Path

import numpy as np

from sslvae_text import SSVAETextClassifier
from sslvae_text.training import MIN_AUTO_INTERVAL

from .fits import has_alpha
from .paper import ALPHAS, DISPLAY
from .runlog import RunLog


def select_alpha(records, alphas):
    """The record of the alpha with the best validation accuracy, or None if one is missing.

    Why not ``GridSearchCV``: with a ``PredefinedSplit`` over train + validation and
    ``refit=False`` it would pick alpha on the same fold, but it keeps no fitted candidate
    (``refit=False``) and its scorers return numbers, not models, so the chosen model's test
    accuracy would need a second fit. Fitting the ``ParameterGrid`` candidates ourselves, as
    independent joblib jobs, scores each fitted model on its validation fold and on the test set
    at once, lets each finished candidate be recorded (and an interrupted sweep resume), and
    reports the test accuracy of exactly the model whose validation accuracy won. Ties go to the
    first alpha of the grid.
    """
    by_alpha = {r["alpha"]: r for r in records}
    if any(a not in by_alpha for a in alphas):
        return None
    return max((by_alpha[a] for a in alphas), key=lambda r: r["val_accuracy"])


def selected_runs(log, dataset, objective, proportion, runs, alphas, config, test):
    """{run: selected record} for the runs whose candidates have all finished."""
    out = {}
    for run in runs:
        records = [r for r in log.records if r.get("kind", "fit") == "fit" and r["dataset"] == dataset
                   and r["objective"] == objective and r["labeled_proportion"] == proportion
                   and r["run"] == run and r["config"] == config and test in r["accuracy"]]
        latest = {}
        for r in records:
            latest[r["alpha"]] = r
        chosen = select_alpha(list(latest.values()), alphas if has_alpha(objective) else [None])
        if chosen is not None:
            out[run] = chosen
    return out


def mean_std(values):
    """Mean and standard deviation (ddof=1; None for a single value) in %."""
    values = 100 * np.asarray(values, dtype=float)
    if len(values) == 0:
        return None
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else None


def paired_test(a, b):
    """Paired t-test (scipy.stats.ttest_rel) of two {run: accuracy} over their common runs.

    Runs are folds of the same 5,000 labeled documents, so two objectives' runs pair up.
    Returns (mean difference, p-value), p None with fewer than 2 common runs.
    """
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return None, None
    x, y = np.array([a[r] for r in common]), np.array([b[r] for r in common])
    if np.allclose(x, y):
        return 0.0, 1.0
    try:
        from scipy.stats import ttest_rel
    except ImportError as error:
        raise SystemExit("Significance tests need scipy: pip install 'sslvae-text[examples]'") from error
    return float((x - y).mean()), float(ttest_rel(x, y).pvalue)


def fmt(stats, mark="", bold=False):
    if stats is None:
        return "-"
    spread = "1 run" if stats[1] is None else f"{stats[1]:.2f}"
    text = f"{stats[0]:.2f}({spread}){mark}"
    return f"**{text}**" if bold else text


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path, rows, fields):
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def write_text(path, text):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


CSV_FIELDS = ("dataset", "test_dataset", "objective", "labeled_proportion", "run", "alpha",
              "accuracy", "val_accuracy", "selected", "seconds", "n_iter", "n_updates",
              "n_train", "n_unlabeled", "config")


def csv_rows(log, config, selected_keys, datasets=None, tests=None):
    """One row per recorded fit and test set (``selected``: the run's chosen alpha)."""
    rows = []
    for r in log.records:
        if r.get("kind", "fit") != "fit" or r["config"] != config:
            continue
        if datasets is not None and r["dataset"] not in datasets:
            continue
        for test, accuracy in r["accuracy"].items():
            if tests is not None and (r["dataset"], test) not in tests:
                continue
            rows.append(dict(r, test_dataset=test, accuracy=accuracy,
                             alpha="" if r["alpha"] is None else r["alpha"],
                             selected=(RunLog.key(r), test) in selected_keys))
    return rows


def _vectors_note(settings):
    """Which initial word vectors a table's fits used, and whether they were fine-tuned."""
    if settings.embeddings is None:
        return "random (`embeddings=None`), trained with the model."
    freeze = settings.freeze_embeddings
    if freeze is None:
        freeze = SSVAETextClassifier().freeze_embeddings
        how = "frozen" if freeze else "fine-tuned"
        return f"`embeddings=\"{settings.embeddings}\"`, {how} (the estimators' default)."
    how = "frozen (`--freeze-embeddings yes`)" if freeze else "fine-tuned (`--freeze-embeddings no`)"
    return f"`embeddings=\"{settings.embeddings}\"`, {how}."


def header_lines(title, args, notes):
    settings = args.settings
    lines = [f"# {title}", "",
             f"Written by `python examples/{' '.join([args.script] + args.argv)}` on {time.strftime('%Y-%m-%d %H:%M')}"
             + (" (**--quick**: tiny networks and samples, not comparable to the paper)" if args.quick else "")
             + ".", "",
             f"Decoder softmax: `output_layer=\"{settings.output_layer}\"`"
             + (" (the paper's)." if settings.output_layer == "full" else
                " (the estimator's default; `--output-layer full` is the paper's exact decoder)."),
             "",
             "Schedule: " + ("the authors' (`--paper-schedule`: a validation check per pass over the "
                             "labeled documents, KL annealing over 3,000 + 3,000 updates)."
                             if settings.paper_schedule else "the estimators' defaults (a validation check "
                             "per pass over the larger of the labeled and unlabeled sets, at least "
                             f"{MIN_AUTO_INTERVAL} updates; KL annealing fitted to it)."),
             "",
             "Word vectors: " + _vectors_note(settings), "",
             "Encoders: " + ("one BiLSTM read by q(y|x) and q(z|x) (`--shared-encoder`, not the paper's)."
                             if settings.shared_encoder else "a BiLSTM for y and another for z (the paper's)."),
             ""]
    for dataset, note in notes.items():
        if note:
            lines += [f"- **{DISPLAY[dataset]}**: {note}"]
    if any(notes.values()):
        lines.append("")
    return lines


def cell(log, dataset, objective, args, config, *, test=None, proportion=1.0):
    """(mean, std) in % over the finished runs, {run: accuracy}, {run: alpha} of one table cell."""
    test = test or dataset
    chosen = selected_runs(log, dataset, objective, proportion, args.runs, args.alphas, config, test)
    accuracies = {run: r["accuracy"][test] for run, r in chosen.items()}
    return mean_std(list(accuracies.values())), accuracies, {run: r["alpha"] for run, r in chosen.items()}, chosen


def runs_note(counts, n_runs):
    """A footnote saying which cells have fewer runs than asked."""
    partial = {k: v for k, v in counts.items() if v < n_runs}
    if not partial:
        return f"Every cell averages {n_runs} runs."
    return (f"Cells average the runs whose {len(ALPHAS)}-alpha grid has finished; fewer than "
            f"{n_runs} in: " + ", ".join(f"{k} ({v})" for k, v in partial.items()) + ".")
