"""Passing unlabeled documents through scikit-learn's model selection tools without losing any.

``cross_val_score`` and ``GridSearchCV`` slice every fit parameter whose length equals
``len(X)`` to the training fold, so an ``X_unlabeled`` list that happens to be as long as ``X``
would silently lose part of its documents. Two remedies live here:

* :class:`UnlabeledTexts` wraps the unlabeled documents in a container with no length, which
  scikit-learn passes whole to every fit;
* :class:`SemiSupervisedKFold` splits only the labeled rows when unlabeled ones are marked
  with ``-1`` in ``y``, and keeps every unlabeled row in every training fold.
"""

import numpy as np
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold

from ._validation import check_texts, unlabeled_mask

__all__ = ["SemiSupervisedKFold", "UnlabeledTexts"]


class UnlabeledTexts:
    """Unlabeled documents that scikit-learn's cross-validation passes whole to every fit.

    It deliberately has no ``len``: scikit-learn only slices fit parameters that look like
    arrays of ``len(X)`` rows. Iterate over it, or read ``texts``, to get the documents.

    Parameters
    ----------
    texts : iterable of str
        The unlabeled documents.

    Examples
    --------
    >>> from sslvae_text import UnlabeledTexts
    >>> unlabeled = UnlabeledTexts(["a review", "another one"])
    >>> unlabeled.n_texts
    2
    >>> list(unlabeled)
    ['a review', 'another one']
    """

    def __init__(self, texts):
        self.texts = check_texts(texts, "UnlabeledTexts' texts")

    @property
    def n_texts(self):
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)

    def __repr__(self):
        return f"UnlabeledTexts(<{self.n_texts} documents>)"


class SemiSupervisedKFold(BaseCrossValidator):
    """Stratified K-fold over the labeled rows; unlabeled rows (``y == -1``) train in every fold.

    Use it with ``cross_val_score`` or ``GridSearchCV`` when unlabeled documents are passed as
    rows of ``X`` marked ``-1`` in ``y`` (scikit-learn's semi-supervised convention). A plain
    ``StratifiedKFold`` would treat -1 as a class and keep a fifth of them out of each fit.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds of the labeled rows.
    shuffle : bool, default=False
        Whether to shuffle the labeled rows before cutting folds.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle.

    Examples
    --------
    >>> from sslvae_text import SemiSupervisedKFold
    >>> y = [0, 1, -1, 0, 1, -1, 0, 1]
    >>> for train, test in SemiSupervisedKFold(n_splits=2).split(y, y):
    ...     print(train, test)
    [2 4 5 6 7] [0 1 3]
    [0 1 2 3 5] [4 6 7]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def split(self, X, y, groups=None):
        y = np.asarray(y, dtype=object)
        unlabeled = unlabeled_mask(y)
        labeled_rows = np.flatnonzero(~unlabeled)
        unlabeled_rows = np.flatnonzero(unlabeled)
        folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        y_labeled = np.asarray(y[labeled_rows].tolist())
        for train, test in folds.split(labeled_rows, y_labeled):
            yield np.sort(np.concatenate([labeled_rows[train], unlabeled_rows])), labeled_rows[test]
