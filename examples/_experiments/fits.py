"""One fit of one (dataset, objective, run, alpha), scored on the validation fold and test
set(s); the classic peers."""

import inspect
import os
import socket
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sslvae_text import SSVAETextClassifier
from sslvae_text.embeddings import MeanVectors
from sslvae_text.training import torch_threads

from .paper import DISPLAY, MAX_LENGTH, MEAN_VECTORS, OBJECTIVES, PEERS


def make_peer(objective, X, y, *, embeddings=None, max_length=None, random_state=None):
    """A classic peer (``PEERS``) fitted on ``X, y`` (-1: unlabeled: self-training learns from
    them, and the mean-vectors peer trains its fastText vectors on them with ``embeddings="fasttext"``).

    The mean-vectors peer reads the estimators' vectors (``embeddings``) and tokens (``max_length``).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.semi_supervised import SelfTrainingClassifier

    labeled = y != -1
    X_labeled = [x for x, keep in zip(X, labeled) if keep]
    n_folds = int(min(3, np.bincount(y[labeled]).min()))
    if objective == MEAN_VECTORS:
        vectors = MeanVectors(embeddings, max_length=max_length, random_state=random_state).fit(X)
        regression = (LogisticRegressionCV(cv=n_folds, max_iter=2000)
                      if n_folds >= 2 else LogisticRegression(C=10.0, max_iter=2000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            regression.fit(vectors.transform(X_labeled), y[labeled])
        return make_pipeline(vectors, regression)
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


def fit_one(job):
    """Fit one (dataset, objective, run, alpha) and score it; returns the record to keep.

    The model trains on the run's labeled documents (and its unlabeled ones), early-stops on the
    run's validation fold, and is scored on that fold (what selects alpha) and on each test set in
    ``job["tests"]``. It is never retrained on training + validation.
    """
    # Tiny quick-mode networks run faster on one thread, and far faster on a busy machine.
    settings = job["settings"]
    threads = settings.threads or (1 if settings.quick else None)
    with torch_threads(threads):
        return _fit_one(job)


def _fit_one(job):
    if job["objective"] in PEERS:
        return _fit_peer(job)
    run = job["data"]
    clf = job["settings"].estimator(job["objective"], job["dataset"], run=job["run"], alpha=job["alpha"])
    print(f"  start {describe(job)} (pid {os.getpid()})", flush=True)
    start = time.perf_counter()
    fit_params = {"X_unlabeled": run["X_unlabeled"]}
    if "validation_data" in inspect.signature(clf.fit).parameters:  # the networks early-stop on it
        fit_params["validation_data"] = None if run["X_val"] is None else (run["X_val"], run["y_val"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(run["X_train"], run["y_train"], **fit_params)
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
    # What a network fit reports (None for LinearSSVAEClassifier, which has no training loop).
    network = {name: getattr(clf, attribute, None) for name, attribute in (
        ("n_iter", "n_iter_"), ("n_updates", "n_updates_"), ("best_iteration", "best_iteration_"),
        ("validation_interval", "validation_interval_"), ("freeze_embeddings", "freeze_embeddings"),
        ("termination", "termination_condition_"), ("device", "device_"), ("alpha_chosen", "alpha_"))}
    record.update(
        val_accuracy=(getattr(clf, "best_validation_score_", None) if run["X_val"] is None
                      else float(clf.score(run["X_val"], run["y_val"]))), accuracy=accuracies,
        seconds=round(time.perf_counter() - start, 2), fit_seconds=round(fit_seconds, 2), **network,
        embeddings_seconds=round(getattr(clf, "embeddings_seconds_", 0.0), 2), embeddings=clf.embeddings,
        n_train=len(run["X_train"]), n_val=None if run["X_val"] is None else len(run["X_val"]),
        n_unlabeled=clf.n_unlabeled_,
        host=socket.gethostname(), pid=os.getpid(), finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return record


def _fit_peer(job):
    """Fit a classic peer on the run's documents (self-training: with the unlabeled ones)."""
    run, start = job["data"], time.perf_counter()
    X, y = list(run["X_train"]), np.asarray(run["y_train"])
    if job["objective"] != "TF-IDF + LogReg":
        X, y = X + list(run["X_unlabeled"]), np.concatenate([y, np.full(len(run["X_unlabeled"]), -1)])
    clf = make_peer(job["objective"], X, y, embeddings=job["settings"].embeddings,
                    max_length=MAX_LENGTH[job["dataset"]], random_state=job["run"])
    record = {k: job[k] for k in KEY_FIELDS}
    record.update(
        val_accuracy=None if run["X_val"] is None else float(clf.score(run["X_val"], run["y_val"])),
        accuracy={name: float(clf.score(X_t, y_t)) for name, (X_t, y_t) in run["tests"].items()},
        seconds=round(time.perf_counter() - start, 2), n_iter=None, n_updates=None,
        n_train=len(run["X_train"]), n_val=None if run["X_val"] is None else len(run["X_val"]),
        n_unlabeled=len(X) - len(run["X_train"]), host=socket.gethostname(), pid=os.getpid(),
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return record


KEY_FIELDS = ("dataset", "objective", "labeled_proportion", "run", "alpha", "config")


def describe(job):
    alpha = "" if job["alpha"] is None else f" alpha={job['alpha']:g}"
    share = "" if job["labeled_proportion"] == 1 else f" {100 * job['labeled_proportion']:g}% labels"
    return f"{DISPLAY[job['dataset']]} {job['objective']} run {job['run']}{alpha}{share}"
