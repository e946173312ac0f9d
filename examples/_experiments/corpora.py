"""Loading a corpus from a folder laid out like shared/data into the protocol's runs, with
the stand-ins used where a canonical training split is missing."""

import hashlib
import lzma
import os
import pickle
import re
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from sslvae_text.datasets import (
    load_ag_news, load_corpus, load_dbpedia, load_imdb, load_yelp, make_text_classification, paper_protocol,
)

from .paper import DATASETS, DISPLAY, MAX_LENGTH, N_CLASSES, QUICK_PROTOCOL


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
    if dataset not in _CORPORA:
        raise ValueError(f"Unknown dataset {dataset!r}; choose among {', '.join(DATASETS)}.")
    spec = dict(unlabeled=None, n_labeled=5000, n_unlabeled=10000, pool_split=None, note="")
    _CORPORA[dataset](Path(data_home), train_file, spec)
    return spec


def _imdb(home, train_file, spec):
    path = _first(home / "imdb/aclImdb_v1.tar.gz", home / "imdb/aclImdb.tar.xz",
                  home / "imdb/aclImdb", home / "aclImdb_v1.tar.gz", home / "aclImdb")
    if path is None:
        raise FileNotFoundError(f"No IMDB archive or aclImdb folder under {home / 'imdb'}.")
    spec.update(labeled=load_imdb(path, subset="train"), unlabeled=load_imdb(path, subset="unsup"),
                test=load_imdb(path, subset="test"))


def _yelp(home, train_file, spec):
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


def _zhang_canonical(folder, loader, spec):
    """Zhang et al.'s own train and test files, when they are in ``folder``."""
    if not ((folder / "train.csv").exists() or (folder / "train.csv.gz").exists()):
        return False
    spec.update(labeled=loader(folder, subset="train"), test=loader(folder, subset="test"))
    return True


def _ag_news(home, train_file, spec):
    folder = home / "ag_news/ag_news_csv"
    if not _zhang_canonical(folder, load_ag_news, spec):
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


def _dbpedia(home, train_file, spec):
    if not _zhang_canonical(home / "dbpedia/dbpedia_csv", load_dbpedia, spec):
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


_CORPORA = {"ag_news": _ag_news, "dbpedia": _dbpedia, "imdb": _imdb, "yelp": _yelp}


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
              random_state=0, cache=None, n_unlabeled=None):
    """The protocol's 5 runs of ``dataset`` and a note on stand-ins ('' when canonical).

    ``n_unlabeled`` replaces the protocol's number of unlabeled documents (10,000, or what the
    corpus has) by another: IMDB's ``unsup`` reviews and Yelp's pool hold 50,000 and more.

    Quick mode draws few documents (``QUICK_PROTOCOL``) and, without ``data_home``, generates a
    corpus; a full run without ``data_home`` is an error. With a ``cache`` folder, the runs are
    read from (or written to) one compressed pickle per dataset and labeled proportion: reading
    IMDB's archive takes a minute, and the pickle of its runs is a third of the archive's size.
    """
    if cache is not None and not quick:
        source = hashlib.sha1(f"{Path(data_home).resolve()}|{train_file}".encode()).hexdigest()[:8]
        unlabeled = "" if n_unlabeled is None else f"-u{n_unlabeled}"
        path = Path(cache) / f"runs-{dataset}-{labeled_proportion:g}-{random_state}{unlabeled}-{source}.pkl.xz"
        if path.exists():
            with lzma.open(path, "rb") as f:
                return pickle.load(f)
        loaded = load_runs(dataset, data_home, labeled_proportion=labeled_proportion,
                           train_file=train_file, random_state=random_state, n_unlabeled=n_unlabeled)
        path.parent.mkdir(parents=True, exist_ok=True)
        with lzma.open(path.with_suffix(".tmp"), "wb") as f:
            pickle.dump(loaded, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(path.with_suffix(".tmp"), path)
        return loaded
    if data_home is None and not quick:
        raise SystemExit("--data-home is required outside --quick (a folder laid out like shared/data).")
    spec = _cached_corpus(dataset, None if data_home is None else str(data_home), train_file)
    n_labeled = QUICK_PROTOCOL["n_labeled"] if quick else spec["n_labeled"]
    if n_unlabeled is None:
        n_unlabeled = QUICK_PROTOCOL["n_unlabeled"] if quick else spec["n_unlabeled"]
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


def load_all(datasets, args, *, labeled_proportion=1.0):
    """{dataset: the requested runs} and {dataset: stand-in note}; ``args.n_unlabeled``, where
    the script has it, replaces the protocol's number of unlabeled documents."""
    runs, notes = {}, {}
    for dataset in datasets:
        print(f"loading {DISPLAY[dataset]} ...", flush=True)
        all_runs, notes[dataset] = load_runs(
            dataset, args.data_home, quick=args.quick, labeled_proportion=labeled_proportion,
            train_file=args.train_files.get(dataset), cache=args.cache,
            n_unlabeled=getattr(args, "n_unlabeled", None))
        runs[dataset] = [all_runs[i] for i in args.runs]
    return runs, notes
