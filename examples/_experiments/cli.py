"""The options the table scripts share."""

import argparse
import sys

from .paper import ALPHAS, DATASETS, LINEAR_SSVAE, MEAN_VECTORS, OBJECTIVES, OBJECTIVE_IDS, PEERS
from .settings import FitSettings


def parser(description, script, *, alphas=True, datasets=DATASETS, peers=True, fits=True):
    """The table scripts' common options, :class:`FitSettings`' among them; ``fits=False`` (a
    timing script) leaves out those that only change fits: objectives, parallel fits, schedule."""
    ap = argparse.ArgumentParser(prog=script, description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.set_defaults(script=script)
    ap.add_argument("--results", required=True, help="folder for runs.jsonl, the CSV, Markdown (and plot)")
    ap.add_argument("--data-home", default=None,
                    help="folder laid out like shared/data (imdb/, yelp/, ag_news/, dbpedia/); "
                         "optional with --quick (a generated corpus is used)")
    ap.add_argument("--datasets", nargs="+", default=list(datasets), choices=DATASETS)
    ids = [v[0] for v in OBJECTIVES.values()] + (list(PEERS.values()) if peers else [])
    if fits:
        ours = [v[0] for v in LINEAR_SSVAE.values()] if peers else []
        ap.add_argument("--objectives", nargs="+", default=ids, choices=ids + ours,
                        help="what to fit" + (": the classic peers are tfidf-logreg, self-training and "
                                              "mean-vectors-logreg (needs --embeddings); linear-ssvae is "
                                              "LinearSSVAEClassifier" if peers else ""))
    ap.add_argument("--runs", nargs="+", type=int, default=None, help="which of the 5 runs (default: all)")
    if alphas:
        ap.add_argument("--alphas", nargs="+", type=float, default=None,
                        help="alpha grid, selected on each run's validation fold (default: 1 10 100 1000)")
    ap.add_argument("--train-file", action="append", default=[], metavar="DATASET=PATH",
                    help="file(s) standing in for a missing training split, e.g. "
                         "ag_news=labeled.csv.gz,unlabeled.tsv.gz or yelp=FOLDER or dbpedia=train.csv.gz")
    if fits:
        ap.add_argument("--n-jobs", type=int, default=1, help="fits run at once (joblib)")
        ap.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                        help="run each fit as a task on this dask cluster")
        ap.add_argument("--dask-local", action="store_true", help="run the fits on a local dask cluster")
        ap.add_argument("--dask-timeout", type=float, default=120.0, metavar="SECONDS",
                        help="give up when the dask scheduler cannot be reached, or has had no worker, "
                             "for this long (default: 120)")
        FitSettings.add_arguments(ap)
    else:
        ap.set_defaults(objectives=ids, n_jobs=1, dask_scheduler=None, dask_local=False, dask_timeout=120.0)
        FitSettings.add_arguments(ap, {"device", "threads", "embeddings", "freeze_embeddings", "output_layer",
                                       "shared_encoder"})
    ap.add_argument("--cache", default=None, metavar="DIR",
                    help="keep each dataset's protocol runs in DIR (compressed pickles) and read "
                         "them from there next time, instead of the raw corpus")
    ap.add_argument("--report-only", action="store_true",
                    help="write the tables from what runs.jsonl holds, fit nothing")
    ap.add_argument("--quick", action="store_true",
                    help="tiny networks, samples and grid: a smoke test that runs in a minute or two")
    return ap


def finish_args(args, argv=None):
    """Fill the defaults that depend on --quick and turn ids into names."""
    args.argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args.objectives = [OBJECTIVE_IDS[o] for o in args.objectives]
    if hasattr(args, "alphas") and args.alphas is None:
        args.alphas = [1.0, 100.0] if args.quick else [float(a) for a in ALPHAS]
    if args.runs is None:
        args.runs = [0, 1, 2] if args.quick else [0, 1, 2, 3, 4]
    args.train_files = {}
    for item in args.train_file:
        dataset, _, path = item.partition("=")
        if dataset not in DATASETS or not path:
            raise SystemExit(f"--train-file takes DATASET=PATH with DATASET in {DATASETS}, got {item!r}")
        args.train_files[dataset] = path
    args.settings = FitSettings.from_args(args)
    if MEAN_VECTORS in args.objectives and args.settings.embeddings is None:
        args.objectives.remove(MEAN_VECTORS)
        if not args.objectives:
            raise SystemExit("mean-vectors-logreg averages word vectors: name them with --embeddings")
        print("mean-vectors-logreg left out: it averages word vectors, and --embeddings names none", flush=True)
    return args


def import_pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise SystemExit("The plot needs matplotlib: pip install 'sslvae-text[examples]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
