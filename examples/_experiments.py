"""What the paper-reproduction scripts share (``table2_accuracy.py`` ... ``table5_label_amounts.py``).

- the paper's datasets, objectives, max lengths and published numbers (Tables 2-5);
- loading a corpus from a data folder laid out like ``shared/data`` into the protocol's 5 runs,
  with the stand-ins used where a canonical training split is missing;
- one fit of one (dataset, objective, run, alpha), scored on the validation fold and test set(s);
- alpha selection on each run's validation fold (``ParameterGrid``, see :func:`select_alpha`);
- a resumable record of finished fits (``runs.jsonl``, one JSON line per fit, flushed), joblib
  dispatch (loky, or dask with ``--dask-scheduler``/``--dask-local``) with progress lines;
- one speed measurement per dataset and device (Table 3);
- CSV, Markdown and plot writers.

Not a public module: the scripts in this folder import it (``python examples/table2_accuracy.py``
puts ``examples/`` on ``sys.path``).
"""

import argparse
import contextlib
import csv
import hashlib
import json
import lzma
import os
import pickle
import re
import socket
import sys
import time
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ParameterGrid, train_test_split
from sklearn.utils import Bunch

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.datasets import (
    PAPER_DATASETS, load_ag_news, load_corpus, load_dbpedia, load_imdb, load_yelp,
    make_text_classification, paper_protocol,
)
from sslvae_text.objective import VARIANTS, variant_id

# -- the paper ----------------------------------------------------------------------------------

DATASETS = ("ag_news", "dbpedia", "imdb", "yelp")
DISPLAY = {"ag_news": "AGNEWS", "dbpedia": "DBPedia", "imdb": "IMDB", "yelp": "Yelp"}
# The authors' max lengths in tokens (reference implementation).
MAX_LENGTH = {name: settings["max_length"] for name, settings in PAPER_DATASETS.items()}
N_CLASSES = {name: settings["n_classes"] for name, settings in PAPER_DATASETS.items()}

# name: (command-line id, estimator class, extra parameters)
OBJECTIVES = {
    "Supervised": ("supervised", SupervisedTextClassifier, {}),
    **{name: (variant_id(name), SSVAETextClassifier, {"use_kl": use_kl, "use_z": use_z})
       for name, (use_kl, use_z) in VARIANTS.items()},
}
# Classic peers on the same splits: what a user would try first. Word and word-pair TF-IDF with
# a logistic regression whose C is chosen by 3-fold cross-validation on the labeled documents
# (the default C=1 is far too strong a penalty for a few hundred documents), and scikit-learn's
# self-training of that model over the unlabeled documents too. name: command-line id
PEERS = {"TF-IDF + LogReg": "tfidf-logreg", "Self-training (TF-IDF + LogReg)": "self-training"}
OBJECTIVE_IDS = {v[0]: k for k, v in OBJECTIVES.items()} | {v: k for k, v in PEERS.items()}
ALPHAS = (1, 10, 100, 1000)
PROPORTIONS = (0.01, 0.03, 0.1, 0.3, 1.0)

# Published numbers, copied from paper.txt: accuracy mean (std) over 5 runs, in %.
PAPER_TABLE2 = {
    "Supervised": {"ag_news": (86.98, 0.74), "dbpedia": (96.97, 0.28), "imdb": (81.02, 0.64), "yelp": (92.47, 0.48)},
    "SSVAE": {"ag_news": (87.89, 0.54), "dbpedia": (97.75, 0.11), "imdb": (83.34, 0.91), "yelp": (92.85, 0.78)},
    "SSVAE-{KL}": {"ag_news": (87.95, 0.19), "dbpedia": (97.58, 0.13), "imdb": (83.87, 0.47), "yelp": (92.90, 0.54)},
    "SSVAE-{z}": {"ag_news": (87.94, 0.33), "dbpedia": (97.40, 0.14), "imdb": (81.90, 5.17), "yelp": (93.60, 0.74)},
    "SSVAE-{KL,z}": {"ag_news": (87.85, 0.29), "dbpedia": (97.58, 0.19), "imdb": (84.79, 1.34), "yelp": (93.77, 0.61)},
}
# Time of an iteration relative to SSVAE (std in parentheses, as printed).
PAPER_TABLE3 = {
    "ag_news": {"SSVAE-{KL}": (0.911, 0.73), "SSVAE-{z}": (0.742, 0.65), "SSVAE-{KL,z}": (0.742, 0.81)},
    "dbpedia": {"SSVAE-{KL}": (1.03, 0.56), "SSVAE-{z}": (0.861, 0.61), "SSVAE-{KL,z}": (0.867, 0.56)},
    "imdb": {"SSVAE-{KL}": (1.018, 0.25), "SSVAE-{z}": (0.822, 0.25), "SSVAE-{KL,z}": (0.816, 0.25)},
    "yelp": {"SSVAE-{KL}": (0.986, 1.52), "SSVAE-{z}": (0.819, 1.39), "SSVAE-{KL,z}": (0.819, 1.52)},
}
# Out of domain, (mean, std, mark): "+" = significantly above Supervised (p < 0.05).
PAPER_TABLE4 = {
    ("imdb", "yelp"): {"Supervised": (59.07, 1.19, ""), "SSVAE": (61.78, 6.03, ""),
                       "SSVAE-{KL}": (68.67, 4.85, "+"), "SSVAE-{z}": (71.30, 7.67, "+"),
                       "SSVAE-{KL,z}": (64.69, 3.84, "+")},
    ("yelp", "imdb"): {"Supervised": (66.17, 2.62, ""), "SSVAE": (69.54, 2.49, ""),
                       "SSVAE-{KL}": (66.67, 3.26, ""), "SSVAE-{z}": (65.15, 2.31, ""),
                       "SSVAE-{KL,z}": (66.13, 3.82, "")},
}
# Labeled amounts 1%, 3%, 10%, 30%, 100%: (mean, std, mark); "*" above SSVAE, "†" below (p < 0.05).
PAPER_TABLE5 = {
    "imdb": {
        "Supervised": [(54.62, 3.30, ""), (56.47, 1.02, ""), (62.01, 2.75, ""), (69.65, 2.02, ""), (81.02, 0.64, "")],
        "SSVAE": [(53.92, 2.34, ""), (56.03, 4.20, ""), (62.15, 5.03, ""), (75.39, 0.49, ""), (83.34, 0.91, "")],
        "SSVAE-{KL}": [(52.70, 1.72, ""), (54.95, 0.77, ""), (62.37, 4.45, ""), (74.18, 1.97, ""), (83.87, 0.47, "")],
        "SSVAE-{z}": [(54.15, 2.46, ""), (56.86, 1.77, ""), (62.15, 2.87, ""), (75.42, 1.80, ""), (81.90, 5.17, "")],
        "SSVAE-{KL,z}": [(53.51, 1.99, ""), (56.58, 2.22, ""), (63.24, 4.15, ""), (75.87, 1.30, ""), (84.79, 1.34, "")],
    },
    "ag_news": {
        "Supervised": [(68.60, 4.88, ""), (75.92, 1.74, ""), (81.96, 0.83, ""), (84.59, 0.67, ""), (86.98, 0.74, "")],
        "SSVAE": [(65.79, 5.02, ""), (75.95, 1.27, ""), (82.47, 0.43, ""), (85.50, 0.30, ""), (87.89, 0.54, "")],
        "SSVAE-{KL}": [(68.56, 1.89, ""), (76.25, 2.21, ""), (82.76, 0.45, ""), (85.73, 0.80, ""), (87.95, 0.19, "")],
        "SSVAE-{z}": [(67.13, 6.55, ""), (77.28, 1.81, ""), (83.48, 0.75, "*"), (85.75, 0.74, ""), (87.94, 0.33, "")],
        "SSVAE-{KL,z}": [(66.96, 3.42, ""), (76.47, 1.24, ""), (82.58, 0.97, ""), (85.51, 0.57, ""), (87.85, 0.29, "")],
    },
    "yelp": {
        "Supervised": [(70.32, 1.84, ""), (76.32, 2.07, ""), (83.41, 1.75, ""), (87.85, 0.58, ""), (92.47, 0.48, "")],
        "SSVAE": [(71.34, 1.93, ""), (76.96, 1.64, ""), (82.96, 0.69, ""), (89.35, 0.39, ""), (92.85, 0.78, "")],
        "SSVAE-{KL}": [(69.85, 2.86, ""), (76.82, 1.31, ""), (82.90, 2.23, ""), (88.33, 0.99, ""), (92.90, 0.54, "")],
        "SSVAE-{z}": [(68.74, 2.95, ""), (78.26, 1.70, ""), (84.11, 1.25, ""), (90.27, 0.28, "*"), (93.60, 0.74, "")],
        "SSVAE-{KL,z}": [(69.21, 1.10, ""), (77.30, 2.57, ""), (85.02, 1.24, "*"), (89.74, 1.31, ""), (93.77, 0.61, "")],
    },
    "dbpedia": {
        "Supervised": [(63.67, 1.74, ""), (81.49, 2.25, ""), (90.56, 1.21, ""), (94.63, 0.32, ""), (96.97, 0.28, "")],
        "SSVAE": [(64.42, 1.83, ""), (83.16, 1.49, ""), (92.95, 0.82, ""), (96.26, 0.25, ""), (97.75, 0.11, "")],
        "SSVAE-{KL}": [(66.09, 3.05, ""), (81.97, 1.54, ""), (93.64, 0.76, ""), (96.32, 0.28, ""), (97.58, 0.13, "")],
        "SSVAE-{z}": [(62.56, 5.60, ""), (83.40, 2.42, ""), (93.37, 1.00, ""), (96.39, 0.21, ""), (97.40, 0.14, "†")],
        "SSVAE-{KL,z}": [(62.15, 1.68, ""), (82.67, 2.16, ""), (93.40, 1.10, ""), (96.31, 0.24, ""), (97.58, 0.19, "")],
    },
}

# -- sizes --------------------------------------------------------------------------------------

# The networks are the estimators' defaults: the paper's (300-d embeddings, two BiLSTMs of 100,
# z 32, vocabulary 10,000, batches of 32 + 32, AdamW 4e-3), with the decoder of the authors'
# code (300 units; the paper's text says 200) and the adaptive softmax unless --output-layer full.
FULL_PROTOCOL = dict(n_labeled=5000, n_unlabeled=10000, n_test=None)
QUICK_PROTOCOL = dict(n_labeled=50, n_unlabeled=60, n_test=80)
QUICK_PARAMS = dict(embedding_dim=8, hidden_size=8, decoder_size=8, z_dim=4, y_dim=4,
                    vocabulary_size=400, batch_size=8, validation_interval="epoch", max_updates=10,
                    kl_warmup=4, kl_ramp=4)
# The authors' schedule: a validation check per pass over the labeled documents, KL weight 0
# for 3,000 updates then linear to 1 over 3,000 (--paper-schedule).
PAPER_SCHEDULE = dict(validation_interval="epoch", kl_warmup=3000, kl_ramp=3000)
QUICK_SPEED_ITERATIONS = 6


# -- corpora ------------------------------------------------------------------------------------

def _first(*paths):
    for path in paths:
        if Path(path).exists():
            return Path(path)
    return None


def _normalized(text):
    """A key that ignores case, spacing and punctuation: the AG stand-ins differ in tokenisation."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _yelp_has(folder, split):
    return any((Path(folder) / f"sentiment.{split}.{c}{gz}").exists() for c in (0, 1) for gz in ("", ".gz"))


def _corpus(dataset, data_home, train_file=None):
    """The pools a dataset's runs are drawn from, and what stands in for a missing split.

    Returns a dict: ``labeled``, ``unlabeled`` (or None: drawn from ``labeled``), ``test``,
    ``n_labeled``, ``n_unlabeled``, ``pool_split`` and ``note`` (empty when canonical).
    """
    home = Path(data_home)
    spec = dict(unlabeled=None, n_labeled=5000, n_unlabeled=10000, pool_split=None, note="")
    if dataset == "imdb":
        path = _first(home / "imdb/aclImdb_v1.tar.gz", home / "imdb/aclImdb.tar.xz",
                      home / "imdb/aclImdb", home / "aclImdb_v1.tar.gz", home / "aclImdb")
        if path is None:
            raise FileNotFoundError(f"No IMDB archive or aclImdb folder under {home / 'imdb'}.")
        spec.update(labeled=load_imdb(path, subset="train"), unlabeled=load_imdb(path, subset="unsup"),
                    test=load_imdb(path, subset="test"))
    elif dataset == "yelp":
        folders = sorted(p for p in (home / "yelp").glob("*") if p.is_dir())
        li = _first(home / "yelp/li2018_drg")
        train_folder = Path(train_file) if train_file else next(
            (f for f in folders if _yelp_has(f, "train")), None)
        test = load_yelp(li if li is not None else train_folder, subset="test")
        if train_folder is not None and _yelp_has(train_folder, "train"):
            spec.update(labeled=load_yelp(train_folder, subset="train"), test=test)
        else:
            shen = Path(train_file) if train_file else _first(home / "yelp/shen2017_dev_test")
            if shen is None:
                raise FileNotFoundError(f"No Yelp training split nor Shen et al.'s files under {home / 'yelp'}.")
            parts = [load_yelp(shen, subset=s) for s in ("dev", "test") if _yelp_has(shen, s)]
            pool = (sum((p.data for p in parts), []), np.concatenate([p.target for p in parts]))
            spec.update(labeled=pool, test=test, pool_split=f"{shen.name} dev+test")
            spec["note"] = (f"No Yelp training split: labeled and unlabeled samples are drawn from "
                            f"Shen et al.'s dev and test files ({len(pool[0]):,} sentences), minus "
                            f"every sentence of Li et al.'s test set; tested on Li et al.'s "
                            f"{len(test.data):,} test sentences.")
    elif dataset == "ag_news":
        folder = home / "ag_news/ag_news_csv"
        if (folder / "train.csv").exists() or (folder / "train.csv.gz").exists():
            spec.update(labeled=load_ag_news(folder, subset="train"), test=load_ag_news(folder, subset="test"))
        else:
            sub = home / "ag_news/train_subsets_noncanonical"
            files = [Path(f) for f in train_file.split(",")] if train_file else [
                sub / "jointmatch_ag_news_dev.csv.gz", sub / "hiddenkiller_clean_ag_dev.tsv.gz"]
            labeled = load_corpus(files[0], label_mapping=lambda y: y - 1)  # labels 1-4 -> 0-3
            seen = {_normalized(x) for x in labeled.data}
            unlabeled = []
            for f in files[1:]:
                for x in load_corpus(f).data:
                    if _normalized(x) not in seen:
                        seen.add(_normalized(x))
                        unlabeled.append(x)
            # The stand-ins are descriptions without titles, so the test documents are too.
            test = load_ag_news(folder, subset="test", include_title=False)
            spec.update(labeled=labeled, unlabeled=unlabeled, test=test, pool_split="stand-in",
                        n_unlabeled=min(10000, len(unlabeled)))
            spec["note"] = (f"No AG News training split: {len(labeled.data):,} labeled descriptions "
                            f"({files[0].name}) are the labeled pool and {len(unlabeled):,} other "
                            f"descriptions ({', '.join(f.name for f in files[1:])}, lower-cased and "
                            f"tokenised, near-duplicates of the labeled pool removed) the unlabeled "
                            f"pool ({spec['n_unlabeled']:,} drawn); tested on the canonical test "
                            f"split, descriptions only (no titles), like the stand-ins.")
    elif dataset == "dbpedia":
        folder = home / "dbpedia/dbpedia_csv"
        if (folder / "train.csv").exists() or (folder / "train.csv.gz").exists():
            spec.update(labeled=load_dbpedia(folder, subset="train"), test=load_dbpedia(folder, subset="test"))
        else:
            path = Path(train_file) if train_file else home / "dbpedia/deeptextclustering_subset/train.csv.gz"
            data = load_corpus(path, header=False, label_column=0, text_column=1)
            X_pool, X_test, y_pool, y_test = train_test_split(
                data.data, data.target, test_size=0.2, stratify=data.target, random_state=0)
            spec.update(labeled=(X_pool, y_pool), test=(X_test, y_test), pool_split="stand-in",
                        n_unlabeled=len(X_pool) - 5000)
            spec["note"] = (f"No DBPedia train/test split: the {len(data.data):,}-row stand-in "
                            f"({path.name}) is cut (stratified, seed 0) into a {len(X_test):,}-row "
                            f"test set and a {len(X_pool):,}-row pool: 5,000 labeled and "
                            f"{spec['n_unlabeled']:,} unlabeled documents (not 10,000).")
    else:
        raise ValueError(f"Unknown dataset {dataset!r}; choose among {', '.join(DATASETS)}.")
    return spec


def _synthetic_corpus(dataset):
    """Quick mode without data: a small generated corpus with the dataset's shape."""
    seed = DATASETS.index(dataset)
    n_classes = min(N_CLASSES[dataset], 4)
    X, y = make_text_classification(400, n_classes=n_classes, vocabulary_size=300, n_informative=20,
                                    mean_length=min(MAX_LENGTH[dataset], 14), random_state=seed)
    return dict(labeled=Bunch(data=X[:300], target=y[:300], subset="train"), unlabeled=None,
                test=(X[300:], y[300:]), n_labeled=5000, n_unlabeled=10000, pool_split=None,
                note="Generated corpus (make_text_classification), not the real dataset.")


@lru_cache(maxsize=8)
def _cached_corpus(dataset, data_home, train_file):
    if data_home is None:
        return _synthetic_corpus(dataset)
    return _corpus(dataset, data_home, train_file)


def load_runs(dataset, data_home=None, *, quick=False, labeled_proportion=1.0, train_file=None,
              random_state=0, cache=None):
    """The protocol's 5 runs of ``dataset`` and a note on stand-ins ('' when canonical).

    Quick mode draws few documents (``QUICK_PROTOCOL``) and, without ``data_home``, generates a
    corpus; a full run without ``data_home`` is an error. With a ``cache`` folder, the runs are
    read from (or written to) one compressed pickle per dataset and labeled proportion: reading
    IMDB's archive takes a minute, and the pickle of its runs is a third of the archive's size.
    """
    if cache is not None and not quick:
        source = hashlib.sha1(f"{Path(data_home).resolve()}|{train_file}".encode()).hexdigest()[:8]
        path = Path(cache) / f"runs-{dataset}-{labeled_proportion:g}-{random_state}-{source}.pkl.xz"
        if path.exists():
            with lzma.open(path, "rb") as f:
                return pickle.load(f)
        loaded = load_runs(dataset, data_home, labeled_proportion=labeled_proportion,
                           train_file=train_file, random_state=random_state)
        path.parent.mkdir(parents=True, exist_ok=True)
        with lzma.open(path.with_suffix(".tmp"), "wb") as f:
            pickle.dump(loaded, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(path.with_suffix(".tmp"), path)
        return loaded
    if data_home is None and not quick:
        raise SystemExit("--data-home is required outside --quick (a folder laid out like shared/data).")
    spec = _cached_corpus(dataset, None if data_home is None else str(data_home), train_file)
    n_labeled, n_unlabeled = spec["n_labeled"], spec["n_unlabeled"]
    if quick:
        n_labeled, n_unlabeled = QUICK_PROTOCOL["n_labeled"], QUICK_PROTOCOL["n_unlabeled"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the stand-in warning: kept in the note
        runs = paper_protocol(spec["labeled"], unlabeled=spec["unlabeled"], test=spec["test"],
                              n_labeled=n_labeled, n_unlabeled=n_unlabeled,
                              labeled_proportion=labeled_proportion, pool_split=spec["pool_split"],
                              random_state=random_state)
    if quick and QUICK_PROTOCOL["n_test"] is not None:
        keep = np.random.RandomState(0).permutation(len(runs[0].X_test))[:QUICK_PROTOCOL["n_test"]]
        X_test, y_test = [runs[0].X_test[i] for i in keep], runs[0].y_test[keep]
        for run in runs:
            run.X_test, run.y_test = X_test, y_test
    return runs, spec["note"]


# -- one fit ------------------------------------------------------------------------------------

def make_peer(objective, X, y):
    """A classic peer (``PEERS``) fitted on labeled ``X, y`` (-1: unlabeled, for self-training)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.semi_supervised import SelfTrainingClassifier

    labeled = y != -1
    X_labeled = [x for x, keep in zip(X, labeled) if keep]
    n_folds = int(min(3, np.bincount(y[labeled]).min()))
    # a class with a single document leaves no fold to cross-validate: the grid's middle C
    regression = (LogisticRegressionCV(Cs=np.logspace(-1, 3, 9), cv=n_folds, max_iter=2000)
                  if n_folds >= 2 else LogisticRegression(C=10.0, max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        supervised = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                   regression).fit(X_labeled, y[labeled])
        if objective == "TF-IDF + LogReg":
            return supervised
        C = supervised[-1].C_[0] if n_folds >= 2 else regression.C
        classifier = LogisticRegression(C=C, max_iter=2000)
        return make_pipeline(clone(supervised[0]),
                             SelfTrainingClassifier(classifier, threshold=0.9)).fit(X, y)


def has_alpha(objective):
    return OBJECTIVES.get(objective, (None, None))[1] is SSVAETextClassifier


def make_estimator(objective, dataset, *, alpha=None, quick=False, run=0, max_updates=None,
                   device="cpu", embeddings=None, output_layer=None, shared_encoder=False,
                   paper_schedule=False):
    """The estimator of one objective with the paper's settings for ``dataset``.

    ``output_layer=None`` keeps the estimator's default (the adaptive softmax); "full" is the
    paper's exact decoder.
    """
    _, cls, flags = OBJECTIVES[objective]
    params = dict(max_length=MAX_LENGTH[dataset], random_state=run, device=device,
                  embeddings=embeddings, shared_encoder=shared_encoder, **flags)
    if output_layer is not None:
        params["output_layer"] = output_layer
    if paper_schedule:
        params.update(PAPER_SCHEDULE)
    if quick:
        params.update(QUICK_PARAMS)
    if max_updates is not None:
        params["max_updates"] = max_updates
    if alpha is not None:
        params["alpha"] = alpha
    names = cls().get_params()
    return cls(**{k: v for k, v in params.items() if k in names})


def fit_one(job):
    """Fit one (dataset, objective, run, alpha) and score it; returns the record to keep.

    The model trains on the run's labeled documents (and its unlabeled ones), early-stops on the
    run's validation fold, and is scored on that fold (what selects alpha) and on each test set in
    ``job["tests"]``. It is never retrained on training + validation.
    """
    # Tiny quick-mode networks run faster on one thread, and far faster on a busy machine.
    threads = job.get("threads") or (1 if job["quick"] else None)
    with torch_threads(threads):
        return _fit_one(job)


@contextlib.contextmanager
def torch_threads(n):
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit_one(job):
    if job["objective"] in PEERS:
        return _fit_peer(job)
    run = job["data"]
    clf = make_estimator(job["objective"], job["dataset"], alpha=job["alpha"], quick=job["quick"],
                         run=job["run"], max_updates=job["max_updates"], device=job["device"],
                         embeddings=job["embeddings"], output_layer=job["output_layer"],
                         shared_encoder=job["shared_encoder"], paper_schedule=job["paper_schedule"])
    print(f"  start {describe(job)} (pid {os.getpid()})", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(run["X_train"], run["y_train"], X_unlabeled=run["X_unlabeled"],
                validation_data=None if run["X_val"] is None else (run["X_val"], run["y_val"]))
    fit_seconds = time.perf_counter() - start
    accuracies = {}
    for name, (X_test, y_test) in run["tests"].items():
        if name != job["dataset"]:
            # Out of domain: read the target's documents up to the target's max length, not the
            # source's (a Yelp model would otherwise see 16 tokens of an IMDB review).
            clf.set_params(max_length=MAX_LENGTH[name])
        accuracies[name] = float(clf.score(X_test, y_test))
        clf.set_params(max_length=MAX_LENGTH[job["dataset"]])
    record = {k: job[k] for k in KEY_FIELDS}
    record.update(
        val_accuracy=(clf.best_validation_score_ if run["X_val"] is None
                      else float(clf.score(run["X_val"], run["y_val"]))), accuracy=accuracies,
        seconds=round(time.perf_counter() - start, 2), fit_seconds=round(fit_seconds, 2),
        n_iter=clf.n_iter_, n_updates=clf.n_updates_, best_iteration=clf.best_iteration_,
        validation_interval=clf.validation_interval_, embeddings_seconds=round(clf.embeddings_seconds_, 2),
        termination=clf.termination_condition_, n_train=len(run["X_train"]),
        n_val=None if run["X_val"] is None else len(run["X_val"]), n_unlabeled=clf.n_unlabeled_,
        device=clf.device_,
        host=socket.gethostname(), finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return record


def _fit_peer(job):
    """Fit a classic peer on the run's documents (self-training: with the unlabeled ones)."""
    run, start = job["data"], time.perf_counter()
    X, y = list(run["X_train"]), np.asarray(run["y_train"])
    if job["objective"] != "TF-IDF + LogReg":
        X, y = X + list(run["X_unlabeled"]), np.concatenate([y, np.full(len(run["X_unlabeled"]), -1)])
    clf = make_peer(job["objective"], X, y)
    record = {k: job[k] for k in KEY_FIELDS}
    record.update(
        val_accuracy=None if run["X_val"] is None else float(clf.score(run["X_val"], run["y_val"])),
        accuracy={name: float(clf.score(X_t, y_t)) for name, (X_t, y_t) in run["tests"].items()},
        seconds=round(time.perf_counter() - start, 2), n_iter=None, n_updates=None,
        n_train=len(run["X_train"]), n_val=None if run["X_val"] is None else len(run["X_val"]),
        n_unlabeled=len(X) - len(run["X_train"]), host=socket.gethostname(),
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return record


KEY_FIELDS = ("dataset", "objective", "labeled_proportion", "run", "alpha", "config")


def describe(job):
    alpha = "" if job["alpha"] is None else f" alpha={job['alpha']:g}"
    share = "" if job["labeled_proportion"] == 1 else f" {100 * job['labeled_proportion']:g}% labels"
    return f"{DISPLAY[job['dataset']]} {job['objective']} run {job['run']}{alpha}{share}"


def config_id(args, extra=None):
    """A short fingerprint of what changes results: fits made under another one are not reused."""
    payload = dict(quick=args.quick, max_updates=args.max_updates, embeddings=args.embeddings,
                   data=None if args.data_home is None else "data", extra=extra,
                   output_layer=args.output_layer)
    if args.shared_encoder:
        payload["shared_encoder"] = True
    if args.paper_schedule:
        payload["schedule"] = PAPER_SCHEDULE
    if args.quick:
        payload.update(params=QUICK_PARAMS, protocol=QUICK_PROTOCOL)
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]


# -- the record of finished fits ----------------------------------------------------------------

class RunLog:
    """``runs.jsonl`` in the results folder: one JSON line per finished fit, appended and flushed.

    A rerun reads it and skips what is there, so an interrupted sweep resumes where it stopped.
    """

    def __init__(self, results):
        self.path = Path(results) / "runs.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    self.records.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a crash
                    continue

    @staticmethod
    def key(record):
        return tuple(record.get(k) for k in KEY_FIELDS) + (record.get("kind", "fit"),)

    def find(self, job, tests=()):
        """The latest record of ``job`` that has an accuracy on every test set in ``tests``."""
        key = self.key(job)
        for record in reversed(self.records):
            if self.key(record) == key and all(t in record.get("accuracy", {}) for t in tests):
                return record
        return None

    def add(self, record):
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records.append(record)


# -- dispatch -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _backend(args):
    """joblib's default (loky) backend, or dask's when a scheduler is named or ``--dask-local``."""
    if not (args.dask_scheduler or args.dask_local):
        yield
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as error:
        raise SystemExit("The dask backend needs dask[distributed]: pip install 'sslvae-text[dask]'") from error
    # Workers import sslvae_text but not this file: ship its functions by value.
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with contextlib.ExitStack() as stack:
        if args.dask_scheduler:
            client = stack.enter_context(Client(args.dask_scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=max(1, args.n_jobs), threads_per_worker=1, processes=True,
                dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        print(f"dask: {client}", flush=True)
        import joblib
        with joblib.parallel_backend("dask"):
            yield


def sweep(jobs, log, args, report, table):
    """Run the jobs ``log`` lacks, run 0 of everything first, calling ``report()`` after each
    fit and at the end (``report(final=True)``); print the Markdown ``table`` it writes."""
    jobs.sort(key=lambda job: job["run"])
    n_fits = run_jobs(jobs, log, args, on_record=report)
    report(final=True)
    print((Path(args.results) / table).read_text())
    return n_fits


def run_jobs(jobs, log, args, on_record=None):
    """Run the jobs that ``log`` lacks through joblib, recording each one as it finishes.

    ``jobs`` are in priority order (e.g. run 0 of every objective and alpha first). Prints one
    line per finished fit: how many are done and left, and the elapsed time.
    Returns the number of fits run.
    """
    import joblib

    todo = [job for job in jobs if log.find(job, job["tests_needed"]) is None]
    print(f"{len(jobs)} fits in this sweep: {len(jobs) - len(todo)} already in {log.path}, "
          f"{len(todo)} " + ("not run (--report-only)." if args.report_only else "to run."), flush=True)
    if not todo or args.report_only:
        return 0
    start = time.perf_counter()
    with _backend(args):
        n_jobs = -1 if (args.dask_scheduler or args.dask_local) else args.n_jobs
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="n_jobs")
        for done, record in enumerate(parallel(joblib.delayed(fit_one)(job) for job in todo), 1):
            log.add(record)
            elapsed = time.perf_counter() - start
            rate = elapsed / done
            tests = " ".join(f"test[{DISPLAY[k]}]={v:.4f}" for k, v in record["accuracy"].items())
            val = "-" if record["val_accuracy"] is None else f"{record['val_accuracy']:.4f}"
            updates = "" if record["n_updates"] is None else f"{record['n_updates']} updates, "
            print(f"[{done}/{len(todo)} done, {len(todo) - done} left, {hms(elapsed)} elapsed, "
                  f"~{hms(rate * (len(todo) - done))} to go] {describe(record)}: "
                  f"val={val} {tests} ({updates}{record['seconds']:.0f} s)", flush=True)
            if on_record is not None:
                on_record()
    return len(todo)


def hms(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def make_jobs(dataset, runs, objectives, alphas, args, *, config, tests=None, test_sets=None):
    """One job per (run, objective, alpha), run-major: every objective of run 0 comes first.

    ``tests`` names the test sets scored (default: the dataset's own), ``test_sets`` holds their
    documents when they are not the run's own test set.
    """
    tests = tests or [dataset]
    jobs = []
    for run in runs:
        data = dict(X_train=run.X_train, y_train=run.y_train, X_val=run.X_val, y_val=run.y_val,
                    X_unlabeled=run.X_unlabeled,
                    tests={t: (run.X_test, run.y_test) if t == dataset else test_sets[t] for t in tests})
        for objective in objectives:
            grid = ParameterGrid({"alpha": alphas}) if has_alpha(objective) else [{"alpha": None}]
            for params in grid:
                jobs.append(dict(
                    dataset=dataset, objective=objective, labeled_proportion=run.labeled_proportion,
                    run=run.run, alpha=params["alpha"], config=config, tests_needed=tests,
                    data=data, quick=args.quick, max_updates=args.max_updates, device=args.device,
                    embeddings=args.embeddings, threads=args.threads, output_layer=args.output_layer,
                    shared_encoder=args.shared_encoder, paper_schedule=args.paper_schedule,
                ))
    return jobs


# -- alpha selection and summaries --------------------------------------------------------------

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


def header_lines(title, args, notes):
    lines = [f"# {title}", "",
             f"Written by `python examples/{' '.join([args.script] + args.argv)}` on {time.strftime('%Y-%m-%d %H:%M')}"
             + (" (**--quick**: tiny networks and samples, not comparable to the paper)" if args.quick else "")
             + ".", "",
             f"Decoder softmax: `output_layer=\"{args.output_layer}\"`"
             + (" (the paper's)." if args.output_layer == "full" else
                " (the estimator's default; `--output-layer full` is the paper's exact decoder)."),
             "",
             "Schedule: " + ("the authors' (`--paper-schedule`: a validation check per pass over the "
                             "labeled documents, KL annealing over 3,000 + 3,000 updates)."
                             if args.paper_schedule else "the estimators' defaults (a validation check "
                             "per pass over the larger of the labeled and unlabeled sets, at least "
                             "100 updates; KL annealing fitted to it)."),
             "",
             "Encoders: " + ("one BiLSTM read by q(y|x) and q(z|x) (`--shared-encoder`, not the paper's)."
                             if args.shared_encoder else "a BiLSTM for y and another for z (the paper's)."),
             ""]
    for dataset, note in notes.items():
        if note:
            lines += [f"- **{DISPLAY[dataset]}**: {note}"]
    if any(notes.values()):
        lines.append("")
    return lines


# -- speed (Table 3) ----------------------------------------------------------------------------

ARCHITECTURES = {"two encoders": False, "shared encoder": True}  # name: shared_encoder


def time_iterations(dataset, run, *, device="cpu", n_iterations=200, warmup=5, quick=False, seed=0,
                    output_layer=None):
    """Time of one optimisation iteration of every SSVAE variant, side by side, on real documents.

    An iteration is one labeled + one unlabeled batch of the run's documents (length-bucketed as
    ``fit`` forms them, truncated to the dataset's max length), forward, backward and the AdamW
    step. The timing itself is ``benchmark_speed.Case.step`` (examples/benchmark_speed.py), which
    builds the package's module and loss as the estimator does. Both architectures are timed:
    the paper's two encoders (one BiLSTM for y, one for z) and ``shared_encoder=True``; without
    z they are the same network, timed once. Every configuration takes its turn on the same
    batch (round-robin), so a busy machine slows them alike.

    Returns {architecture: {objective: dict(ms=mean, std_ms, ratio=mean time / the SSVAE's of
    the same architecture, ratio_std=std of the per-iteration ratios, median_ratio,
    n_iterations, times_ms=[...])}}.
    """
    import torch
    from benchmark_speed import Case

    from sslvae_text.text import Vocabulary, tokenize
    from sslvae_text.training import cycle_batches

    params = make_estimator("SSVAE", dataset, quick=quick, output_layer=output_layer).get_params()
    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)
    tokenized_l = [tokenize(x) for x in run.X_train]
    tokenized_u = [tokenize(x) for x in run.X_unlabeled]
    vocabulary = Vocabulary.build(tokenized_l + tokenized_u, max_size=params["vocabulary_size"])
    ids_l = [vocabulary.encode(d, max_length=params["max_length"]) for d in tokenized_l]
    ids_u = [vocabulary.encode(d, max_length=params["max_length"]) for d in tokenized_u]
    classes, y = np.unique(run.y_train, return_inverse=True)
    batch_size = params["batch_size"]

    def cycle(ids):  # full batches only, so that every iteration times the same amount of work
        batches = cycle_batches(np.array([len(s) for s in ids]), batch_size, rng)
        return (rows for rows in batches if len(rows) == batch_size)

    threads = torch.get_num_threads()
    cases = {}
    for architecture, shared in ARCHITECTURES.items():
        for name, (_, _, flags) in OBJECTIVES.items():
            if not flags:
                continue  # the supervised baseline is not in Table 3
            first = next(iter(ARCHITECTURES))
            if not flags["use_z"] and architecture != first:
                cases[architecture, name] = cases[first, name]  # no z: one network
                continue
            cases[architecture, name] = Case(
                objective=OBJECTIVES[name][0], n_classes=len(classes), vocab=len(vocabulary),
                device=device, threads=threads, output_layer=params["output_layer"],
                autocast="none", adamw="default", compiled=False, params=params,
                shared_encoder=shared)
    labeled, unlabeled = cycle(ids_l), cycle(ids_u)
    order = list(dict.fromkeys(cases.values()))
    for i in range(warmup + n_iterations):
        rows_l, rows_u = next(labeled), next(unlabeled)
        batch = ([ids_l[r] for r in rows_l] + [ids_u[r] for r in rows_u],
                 y[rows_l].tolist() + [-1] * len(rows_u))
        order = order[1:] + order[:1]  # who goes first changes every iteration
        for case in order:
            case.step(batch, timed=i >= warmup)
    out = {}
    for (architecture, name), case in cases.items():
        base = np.asarray(cases[architecture, "SSVAE"].times)
        times = np.asarray(case.times)
        ratios = times / base
        out.setdefault(architecture, {})[name] = dict(
            ms=1000 * times.mean(), std_ms=1000 * times.std(ddof=1),
            ratio=float(times.mean() / base.mean()), ratio_std=float(ratios.std(ddof=1)),
            median_ratio=float(np.median(ratios)), n_iterations=len(times),
            times_ms=[round(1000 * t, 3) for t in times])
    return out


# -- command line -------------------------------------------------------------------------------

def parser(description, script, *, alphas=True, datasets=DATASETS, peers=True, fits=True):
    """The table scripts' common options; ``fits=False`` (a timing script) leaves out those that
    only change fits: objectives, parallel fits, schedule, word vectors."""
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
        ap.add_argument("--objectives", nargs="+", default=ids, choices=ids,
                        help="what to fit" + (" (the last two are the classic peers)" if peers else ""))
    ap.add_argument("--runs", nargs="+", type=int, default=None, help="which of the 5 runs (default: all)")
    if alphas:
        ap.add_argument("--alphas", nargs="+", type=float, default=None,
                        help="alpha grid, selected on each run's validation fold (default: 1 10 100 1000)")
    ap.add_argument("--train-file", action="append", default=[], metavar="DATASET=PATH",
                    help="file(s) standing in for a missing training split, e.g. "
                         "ag_news=labeled.csv.gz,unlabeled.tsv.gz or yelp=FOLDER or dbpedia=train.csv.gz")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per fit (default: torch's)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    if fits:
        ap.add_argument("--n-jobs", type=int, default=1, help="fits run at once (joblib)")
        ap.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                        help="run the fits on this dask cluster (joblib's dask backend)")
        ap.add_argument("--dask-local", action="store_true", help="run the fits on a local dask cluster")
        ap.add_argument("--max-updates", type=int, default=None,
                        help="cap on updates (default: the estimator's, 20,000)")
        ap.add_argument("--paper-schedule", action="store_true",
                        help="the authors' schedule: a validation check per pass over the labeled "
                             "documents, KL annealing over 3,000 + 3,000 updates")
        ap.add_argument("--embeddings", default=None,
                        help="pretrained word vectors (e.g. fastText wiki.en.vec); default: random, fine-tuned")
    else:
        ap.set_defaults(objectives=ids, n_jobs=1, dask_scheduler=None, dask_local=False,
                        max_updates=None, paper_schedule=False, embeddings=None)
    ap.add_argument("--output-layer", choices=["adaptive", "full"], default=None,
                    help="the decoder's softmax (default: the estimator's, adaptive; full: the paper's)")
    ap.add_argument("--shared-encoder", action="store_true",
                    help="q(z|x) reads y's encoder (shared_encoder=True), not a BiLSTM of its own as in the paper")
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
    if args.output_layer is None:  # named in the fingerprint, so a new default is a new config
        args.output_layer = SSVAETextClassifier().output_layer
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
    return args


def import_pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise SystemExit("The plot needs matplotlib: pip install 'sslvae-text[examples]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def load_all(datasets, args, *, labeled_proportion=1.0):
    """{dataset: the requested runs} and {dataset: stand-in note}."""
    runs, notes = {}, {}
    for dataset in datasets:
        print(f"loading {DISPLAY[dataset]} ...", flush=True)
        all_runs, notes[dataset] = load_runs(
            dataset, args.data_home, quick=args.quick, labeled_proportion=labeled_proportion,
            train_file=args.train_files.get(dataset), cache=args.cache)
        runs[dataset] = [all_runs[i] for i in args.runs]
    return runs, notes


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
