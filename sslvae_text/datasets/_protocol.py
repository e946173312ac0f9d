"""The paper's sampling protocol: 5 runs of 4,000 train / 1,000 validation / 10,000 unlabeled."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state, check_scalar

from .._validation import check_texts, unlabeled_mask

__all__ = ["PAPER_DATASETS", "paper_protocol", "nested_stratified_subset"]

#: The paper's corpora as its experiments read them: classes, and the authors' max length in
#: tokens (reference implementation).
PAPER_DATASETS = {
    "ag_news": dict(n_classes=4, max_length=64),
    "dbpedia": dict(n_classes=14, max_length=80),
    "imdb": dict(n_classes=2, max_length=256),
    "yelp": dict(n_classes=2, max_length=16),
}



def _split_bunch(obj, name, *, need_target):
    """``(texts, target or None, split name or None)`` from a Bunch, dict or ``(X, y)``."""
    if isinstance(obj, Mapping):
        X, y, split = obj["data"], obj.get("target"), obj.get("subset")
    elif isinstance(obj, tuple) and len(obj) == 2 and not isinstance(obj[1], str):
        (X, y), split = obj, None
    elif need_target:
        raise TypeError(f"{name} must be a Bunch with data and target, or a tuple (X, y).")
    else:
        X, y, split = obj, None, None
    X = check_texts(X, f"{name}.data")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"{name} has {len(X)} texts but a target of shape {y.shape}.")
    elif need_target:
        raise ValueError(f"{name} has no target.")
    return X, y, split


def _candidates(texts, excluded):
    """Indices of ``texts`` whose text is not in ``excluded``."""
    return np.fromiter((i for i, text in enumerate(texts) if text not in excluded), dtype=np.intp)


def nested_stratified_subset(y, proportion, *, random_state=None):
    """Indices of a stratified sample of ``y`` whose samples are nested.

    Within each class the rows are shuffled, and each row gets the quantile
    of its rank in its class; rows are then ordered by that quantile (ties
    broken at random) and the first ``round(proportion * len(y))`` are kept.
    The order depends on ``random_state`` only, so for one seed the sample
    for 1% is inside the one for 3%, which is inside the one for 10%, and
    every class keeps its share to within one row.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    proportion : float in (0, 1]
        Fraction of the rows to keep; at least one row is kept.
    random_state : int, RandomState instance or None, default=None
        Seed of the order.

    Returns
    -------
    indices : ndarray of int
        Positions in ``y`` of the kept rows, in the order they were kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sslvae_text.datasets import nested_stratified_subset
    >>> y = np.array([0] * 80 + [1] * 20)
    >>> small = nested_stratified_subset(y, 0.1, random_state=0)
    >>> large = nested_stratified_subset(y, 0.3, random_state=0)
    >>> np.bincount(y[small]).tolist(), set(small) <= set(large)
    ([8, 2], True)
    """
    check_scalar(proportion, "proportion", Real, min_val=0, max_val=1, include_boundaries="right")
    rng = check_random_state(random_state)
    y = np.asarray(y)
    _, y_index = np.unique(y, return_inverse=True)
    key = np.empty(len(y))
    for c in range(y_index.max(initial=-1) + 1):
        members = np.flatnonzero(y_index == c)
        ranks = np.empty(len(members))
        ranks[rng.permutation(len(members))] = np.arange(len(members))
        key[members] = (ranks + 0.5) / len(members)
    order = np.lexsort((rng.random_sample(len(y)), key))
    n_keep = max(1, int(round(proportion * len(y))))  # of an empty y, none
    return order[:n_keep]


def _source_note(split, n_unlabeled, unlabeled_split, same_pool):
    where = "an unnamed split" if split is None else f"the {split!r} split"
    note = f"Labeled samples drawn from {where}"
    if n_unlabeled:
        if same_pool:
            note += ", unlabeled samples from the rest of it"
        else:
            source = ("a separate pool" if unlabeled_split is None
                      else f"the {unlabeled_split!r} split")
            note += f", unlabeled samples from {source}"
    note += "."
    if split is not None and split != "train":
        note += (f" The paper samples from the training split; {split!r} stands in for it "
                 "because this copy of the corpus has none.")
    return note


def paper_protocol(labeled, *, unlabeled=None, test=None, n_runs=5, n_labeled=5000,
                   n_unlabeled=10000, labeled_proportion=1.0, pool_split=None,
                   exclude_test=True, random_state=0):
    """Draw the paper's labeled, validation and unlabeled samples.

    Following Felhi et al. (2021, appendix A): ``n_labeled`` documents are
    drawn at random from the labeled pool and cut into ``n_runs`` folds; run
    ``i`` validates on fold ``i`` and trains on the others (4,000 of 5,000
    by default), optionally reduced to ``labeled_proportion`` of them. The
    ``n_unlabeled`` unlabeled documents are drawn once, from ``unlabeled``
    when given (IMDB's ``unsup`` split) and otherwise from the labeled pool's
    remaining documents; they are the same in every run. The test set is the
    corpus's own, unchanged.

    Parameters
    ----------
    labeled : Bunch or tuple (X, y)
        Pool of labeled documents, e.g. the Bunch of a ``load_*`` or
        ``fetch_*`` function for the training split. Its target must not
        contain -1.
    unlabeled : Bunch, tuple (X, y) or list of str, default=None
        Separate pool of unlabeled documents (its targets are ignored). When
        None, they are drawn from ``labeled``.
    test : Bunch or tuple (X, y), default=None
        Test set, returned as it is in every run.
    n_runs : int, default=5
        Number of folds, hence of runs.
    n_labeled : int, default=5000
        Number of labeled documents drawn, split into ``n_runs`` folds.
    n_unlabeled : int, default=10000
        Number of unlabeled documents drawn.
    labeled_proportion : float in (0, 1], default=1.0
        Fraction of each run's training folds that is kept (the paper's 1%,
        3%, 10%, 30%, 100%). The reduction is stratified and nested: for one
        ``random_state`` a smaller proportion keeps a subset of the documents
        a larger one keeps. The validation fold is never reduced.
    pool_split : str, default=None
        Name of the split ``labeled`` comes from; by default its ``subset``
        field. When it is not ``"train"`` (a corpus whose copy lacks a
        training split), a ``UserWarning`` says so and so does each run's
        ``source_note``.
    exclude_test : bool, default=True
        Remove from both pools every document whose text is also in the test
        set, so that no test document is trained on (e.g. Li et al.'s Yelp
        test sentences all occur in Shen et al.'s dev split).
    random_state : int, RandomState instance or None, default=0
        Seed of every draw. The folds and the unlabeled sample do not depend
        on ``labeled_proportion``.

    Returns
    -------
    runs : list of Bunch
        One per fold, with ``X_train``, ``y_train``, ``X_val``, ``y_val``,
        ``X_unlabeled`` (shared by all runs), ``X_test``, ``y_test`` (None
        without ``test``); ``train_index``, ``val_index`` and
        ``unlabeled_index`` (positions in their pools); ``run``,
        ``labeled_proportion``, ``n_test_overlap`` (documents removed from
        the pools by ``exclude_test``) and ``source_note``.

    Raises
    ------
    ValueError
        If a pool is too small for the requested sizes.

    Examples
    --------
    >>> from sslvae_text.datasets import paper_protocol
    >>> from sklearn.utils import Bunch
    >>> X = [f"document {i}" for i in range(300)]
    >>> y = [i % 3 for i in range(300)]
    >>> runs = paper_protocol(Bunch(data=X, target=y, subset="train"),
    ...                       n_labeled=100, n_unlabeled=150, labeled_proportion=0.5)
    >>> len(runs), len(runs[0].X_train), len(runs[0].X_val), len(runs[0].X_unlabeled)
    (5, 40, 20, 150)
    """
    check_scalar(n_runs, "n_runs", Integral, min_val=2)
    check_scalar(n_labeled, "n_labeled", Integral, min_val=n_runs)
    check_scalar(n_unlabeled, "n_unlabeled", Integral, min_val=0)
    check_scalar(labeled_proportion, "labeled_proportion", Real, min_val=0, max_val=1,
                 include_boundaries="right")

    X, y, split = _split_bunch(labeled, "labeled", need_target=True)
    if unlabeled_mask(y).any():
        raise ValueError("labeled contains documents with target -1; pass unlabeled "
                         "documents as unlabeled.")
    split = pool_split if pool_split is not None else split
    same_pool = unlabeled is None or unlabeled is labeled
    if same_pool:
        U, unlabeled_split = X, split
    else:
        U, _, unlabeled_split = _split_bunch(unlabeled, "unlabeled", need_target=False)
    X_test = y_test = None
    if test is not None:
        X_test, y_test, _ = _split_bunch(test, "test", need_target=True)
    test_texts = set(X_test) if exclude_test and X_test is not None else set()

    rng = check_random_state(random_state)
    labeled_candidates = _candidates(X, test_texts)
    needed = n_labeled + (n_unlabeled if same_pool else 0)
    if len(labeled_candidates) < needed:
        raise ValueError(
            f"The labeled pool has {len(labeled_candidates)} usable documents "
            f"({len(X) - len(labeled_candidates)} removed as test documents) but "
            f"{needed} are needed (n_labeled={n_labeled}"
            + (f" + n_unlabeled={n_unlabeled} drawn from the same pool)." if same_pool else ").")
        )
    permutation = rng.permutation(labeled_candidates)
    labeled_index = permutation[:n_labeled]
    # Disjoint by text, not only by row: a document repeated in the pool (or
    # present in both pools) must not be both labeled and unlabeled.
    excluded = test_texts | {X[i] for i in labeled_index}
    if same_pool:
        rest = permutation[n_labeled:]
        unlabeled_candidates = np.array([i for i in rest if X[i] not in excluded], dtype=np.intp)
    else:
        unlabeled_candidates = rng.permutation(_candidates(U, excluded))
    if len(unlabeled_candidates) < n_unlabeled:
        raise ValueError(
            f"The unlabeled pool has {len(unlabeled_candidates)} usable documents once the "
            f"labeled and test documents are left out, fewer than n_unlabeled={n_unlabeled}."
        )
    unlabeled_index = unlabeled_candidates[:n_unlabeled]
    X_unlabeled = [U[i] for i in unlabeled_index]
    run_seeds = rng.randint(np.iinfo(np.int32).max, size=n_runs)

    n_test_overlap = len(X) - len(labeled_candidates)
    if not same_pool:
        n_test_overlap += sum(text in test_texts for text in U)
    note = _source_note(split, n_unlabeled, unlabeled_split, same_pool)
    if split is not None and split != "train":
        warnings.warn(note, UserWarning, stacklevel=2)

    folds = np.array_split(labeled_index, n_runs)
    runs = []
    for run, val_index in enumerate(folds):
        train_index = np.concatenate([fold for k, fold in enumerate(folds) if k != run])
        if labeled_proportion < 1:
            keep = nested_stratified_subset(y[train_index], labeled_proportion,
                                            random_state=run_seeds[run])
            train_index = train_index[keep]
        runs.append(Bunch(
            X_train=[X[i] for i in train_index], y_train=y[train_index],
            X_val=[X[i] for i in val_index], y_val=y[val_index],
            X_unlabeled=X_unlabeled, X_test=X_test, y_test=y_test,
            train_index=train_index, val_index=val_index, unlabeled_index=unlabeled_index,
            run=run, labeled_proportion=labeled_proportion, n_test_overlap=n_test_overlap,
            source_note=note,
        ))
    return runs
