"""One fit of one (dataset, objective, run, alpha), scored on the validation fold and test
set(s); the classic peers; the fingerprint of a sweep's settings."""

import hashlib
import json
import os
import socket
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sslvae_text import SSVAETextClassifier
from sslvae_text.training import torch_threads

from .paper import (
    DISPLAY, MAX_LENGTH, OBJECTIVES, PAPER_SCHEDULE, PEERS, QUICK_PARAMS, QUICK_PROTOCOL,
)


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
                   device="cpu", embeddings=None, freeze_embeddings=None, output_layer=None,
                   shared_encoder=False, paper_schedule=False):
    """The estimator of one objective with the paper's settings for ``dataset``.

    ``output_layer=None`` and ``freeze_embeddings=None`` keep the estimator's defaults (the
    adaptive softmax, and its choice of freezing); "full" is the paper's exact decoder. The
    embeddings' size is the estimator's default, "auto": the vectors' own, else 300.
    """
    _, cls, flags = OBJECTIVES[objective]
    params = dict(max_length=MAX_LENGTH[dataset], random_state=run, device=device,
                  embeddings=embeddings, shared_encoder=shared_encoder, **flags)
    if output_layer is not None:
        params["output_layer"] = output_layer
    if freeze_embeddings is not None:
        params["freeze_embeddings"] = freeze_embeddings
    if paper_schedule:
        params.update(PAPER_SCHEDULE)
    if quick:
        # tiny networks, but pretrained vectors keep their own size
        params.update({k: v for k, v in QUICK_PARAMS.items()
                       if not (k == "embedding_dim" and embeddings not in (None, "fasttext"))})
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


def _fit_one(job):
    if job["objective"] in PEERS:
        return _fit_peer(job)
    run = job["data"]
    clf = make_estimator(job["objective"], job["dataset"], alpha=job["alpha"], quick=job["quick"],
                         run=job["run"], max_updates=job["max_updates"], device=job["device"],
                         embeddings=job["embeddings"], freeze_embeddings=job["freeze_embeddings"],
                         output_layer=job["output_layer"],
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
        embeddings=job["embeddings"], freeze_embeddings=clf.freeze_embeddings,
        termination=clf.termination_condition_, n_train=len(run["X_train"]),
        n_val=None if run["X_val"] is None else len(run["X_val"]), n_unlabeled=clf.n_unlabeled_,
        device=clf.device_,
        host=socket.gethostname(), pid=os.getpid(), finished=time.strftime("%Y-%m-%d %H:%M:%S"),
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
        n_unlabeled=len(X) - len(run["X_train"]), host=socket.gethostname(), pid=os.getpid(),
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
    if args.embeddings is not None:
        payload["freeze_embeddings"] = args.freeze_embeddings  # None: the estimators' default
    if args.paper_schedule:
        payload["schedule"] = PAPER_SCHEDULE
    if args.quick:
        payload.update(params=QUICK_PARAMS, protocol=QUICK_PROTOCOL)
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]
