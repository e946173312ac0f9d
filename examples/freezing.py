"""Fine-tune or freeze pretrained word vectors? The few-labels setting, four ways.

Each variant starts from the same pretrained vectors (``--embeddings``, e.g. glove-6b-50d):

- ``tuned``: every row fine-tuned (``freeze_embeddings=False``);
- ``frozen``: the pretrained rows fixed, the rows of words the vectors lack trained
  (``freeze_embeddings=True``);
- ``frozen-random``: every row fixed, those of words the vectors lack drawn at random with the
  spread of the found vectors (not an estimator option: a subclass here);
- ``decoder-copy``: SSVAE only. The encoders read the frozen rows, the decoder p(x|y,z) its own
  trainable copy of the vectors (not an estimator option: a subclass here).

The documents are ``few_labels.py``'s: ``--n-labeled`` in all (the estimator holds out 10% to
validate), the protocol's unlabeled pool, the dataset's test set.

    python examples/freezing.py --data-home ../shared/data --results results/freezing \\
        --embeddings glove-6b-50d --datasets ag_news yelp --n-labeled 200 --runs 0 \\
        --variants frozen-random decoder-copy --threads 1 --n-jobs 2

Writes ``runs.jsonl`` (resumable) and ``freezing.md`` into ``--results``.
"""

import dataclasses
import sys
import time
import warnings
from pathlib import Path

import joblib
import torch
from sklearn.exceptions import ConvergenceWarning

import _experiments as ex
from few_labels import few_label_runs

VARIANTS = ("tuned", "frozen", "frozen-random", "decoder-copy")


def _freeze_with_random_missing(estimator, module):
    """Every row fixed; rows without a vector (all zero after loading) drawn at random."""
    weight = module.embedding.weight
    with torch.no_grad():
        missing = (weight == 0).all(dim=1)
        missing[0] = False  # <pad> stays zero
        found = ~missing & (weight != 0).any(dim=1)
        generator = torch.Generator().manual_seed(int(estimator.random_state))
        noise = torch.randn(int(missing.sum()), weight.shape[1], generator=generator)
        weight[missing] = noise.to(weight) * (weight[found].std() if found.any() else 1.0)
    weight.requires_grad_(False)
    module.embedding.frozen_rows = None


def _encode_with_decoder_copy(self, tokens, lengths):
    """SSVAE.encode, but the embeddings handed to the decoder come from its own table."""
    _, h_y, h_z = type(self).encode(self, tokens, lengths)
    return self.decoder_embedding(tokens), h_y, h_z


def variant_estimator(cls, variant):
    """``cls`` (an estimator class) building its network the variant's way."""
    if variant in ("tuned", "frozen"):
        return cls

    class Variant(cls):
        def _build_module(self, tokenized, seed):
            module = super()._build_module(tokenized, seed)
            if variant == "frozen-random":
                _freeze_with_random_missing(self, module)
            else:  # decoder-copy: the encoders' rows frozen by freeze_embeddings=True
                module.decoder_embedding = torch.nn.Embedding.from_pretrained(
                    module.embedding.weight.detach().clone(), freeze=False, padding_idx=0)
                module.encode = _encode_with_decoder_copy.__get__(module)
            return module

    Variant.__name__ = f"{cls.__name__}[{variant}]"
    return Variant


def fit_variant(job):
    run = job["data"]
    settings = dataclasses.replace(job["settings"], freeze_embeddings=job["variant"] != "tuned")
    base = settings.estimator(job["objective"], job["dataset"], run=job["run"])
    clf = variant_estimator(type(base), job["variant"])(**base.get_params())
    start = time.perf_counter()
    with ex.torch_threads(settings.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(run.X_train, run.y_train, X_unlabeled=run.X_unlabeled)
        accuracy = float(clf.score(run.X_test, run.y_test))
    record = {k: job[k] for k in ("dataset", "objective", "variant", "run", "n_labeled", "config")}
    record.update(accuracy=accuracy, n_updates=clf.n_updates_, best_iteration=clf.best_iteration_,
                  fit_seconds=round(time.perf_counter() - start, 1), finished=time.strftime("%F %T"))
    return record


def write_report(records, args):
    lines = [f"# Fine-tuned or frozen word vectors: test accuracy (%), `{args.embeddings}`", "",
             f"Written by `python examples/{' '.join([args.script] + args.argv)}` on "
             f"{time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| Dataset | Objective | Labeled | " + " | ".join(args.variants) + " |",
             "|---|---|---|" + "---|" * len(args.variants)]
    for dataset in args.datasets:
        for objective in args.objectives:
            for n in args.n_labeled:
                cells = []
                for variant in args.variants:
                    acc = [r["accuracy"] for r in records if (r["dataset"], r["objective"], r["n_labeled"],
                                                               r["variant"]) == (dataset, objective, n, variant)]
                    cells.append(ex.fmt(ex.mean_std(acc)) if acc else "-")
                lines.append(f"| {ex.DISPLAY[dataset]} | {objective} | {n} | " + " | ".join(cells) + " |")
    lines += ["", f"Mean(std, ddof=1) over runs {', '.join(map(str, args.runs))}.", ""]
    ex.write_text(Path(args.results) / "freezing.md", "\n".join(lines))


def main(argv=None):
    ap = ex.parser(__doc__, Path(__file__).name, alphas=False, peers=False)
    ap.add_argument("--n-labeled", nargs="+", type=int, default=[200])
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.set_defaults(datasets=["ag_news", "yelp"], objectives=["supervised", "ssvae-kl-z"], runs=[0])
    args = ex.finish_args(ap.parse_args(argv), argv)
    if args.embeddings is None:
        raise SystemExit("--embeddings is needed: freezing random vectors is not the question here.")
    log = ex.RunLog(args.results)
    config = args.settings.fingerprint(extra={"freezing": True})
    runs, _ = ex.load_all(args.datasets, args)
    jobs = []
    for n in args.n_labeled:
        for dataset in args.datasets:
            for run in few_label_runs(runs[dataset], n):
                for objective in args.objectives:
                    for variant in args.variants:
                        if variant == "decoder-copy" and objective == "Supervised":
                            continue
                        job = dict(dataset=dataset, objective=objective, variant=variant, run=run.run,
                                   n_labeled=n, config=config, settings=args.settings, data=run)
                        if not any(all(r.get(k) == job[k] for k in ("dataset", "objective", "variant",
                                                                       "run", "n_labeled", "config"))
                                   for r in log.records):
                            jobs.append(job)
    print(f"{len(jobs)} fits to run", flush=True)
    parallel = joblib.Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")
    for record in parallel(joblib.delayed(fit_variant)(job) for job in jobs):
        log.add(record)
        print(f"{record['dataset']} {record['objective']} {record['variant']} run {record['run']} "
              f"{record['n_labeled']} labeled: {record['accuracy']:.4f} ({record['n_updates']} updates, "
              f"{record['fit_seconds']:.0f} s)", flush=True)
    write_report([r for r in log.records if r["config"] == config], args)
    print((Path(args.results) / "freezing.md").read_text())
    return log


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
