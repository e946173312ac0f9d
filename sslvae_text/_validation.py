"""The input conventions, in one place: the unlabeled marker and the checks of documents and labels.

Every public function that takes documents or labels goes through these, so a bad input gets
the same error type and wording wherever it is passed.
"""

from numbers import Number

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

#: Label of an unlabeled row (scikit-learn's semi-supervised convention).
UNLABELED = -1


def unlabeled_mask(y):
    """True where ``y`` holds the unlabeled marker: -1, or the string "-1".

    The string counts too because labels read from text files (a CSV whose unlabeled rows say
    -1) arrive as strings; a class really named "-1" cannot be used.
    """
    return np.fromiter((_is_unlabeled(label) for label in y), dtype=bool, count=len(y))


def _is_unlabeled(label):
    if isinstance(label, str):
        return label.strip() == "-1"
    # on numbers this covers -1, np.int64(-1) and -1.0; a float NaN or another object is a label
    try:
        return bool(label == UNLABELED)
    except (TypeError, ValueError):
        return False


def check_texts(X, name):
    """A list of str, or a clear error naming what is wrong.

    A table of one column (a DataFrame, an array of shape (n, 1)) is read as that column:
    iterating over a DataFrame would give its column names.
    """
    if X is None:
        raise TypeError(f"{name} must be an iterable of str, got None.")
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be an iterable of str, not a single {type(X).__name__}.")
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) != 1:
        if len(shape) != 2 or shape[1] != 1:
            raise ValueError(
                f"{name} must be one column of documents; got a {type(X).__name__} of shape "
                f"{tuple(shape)}. Pass the column of text, e.g. df['text']."
            )
        X = np.asarray(X, dtype=object)[:, 0]
    try:
        X = list(X)
    except TypeError:
        raise TypeError(f"{name} must be an iterable of str, got {type(X).__name__}.") from None
    for i, text in enumerate(X):
        if not isinstance(text, str):
            raise TypeError(
                f"{name} must contain only str; {name}[{i}] is {type(text).__name__} ({text!r})."
            )
    return X


def check_targets(y, n_samples):
    if y is None:
        raise ValueError("y is required: the labels of X, with -1 for unlabeled rows.")
    y = np.asarray(y, dtype=object)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} documents but y has {len(y)} labels.")
    return y


def split_labeled(X, y, X_unlabeled):
    """fit's documents checked: (labeled documents, class indices, classes, unlabeled documents).

    Rows of ``X`` labeled -1 join ``X_unlabeled``. Labels are numbers or strings, of one kind.
    """
    X = check_texts(X, "X")
    y = check_targets(y, len(X))
    unlabeled = unlabeled_mask(y)
    X_labeled = [x for x, u in zip(X, unlabeled) if not u]
    if not X_labeled:
        raise ValueError("y has no labeled row: every label is -1 (the unlabeled marker).")
    kinds = {"str" if isinstance(v, str) else "number" if isinstance(v, Number) else type(v).__name__
             for v in y[~unlabeled]}
    if len(kinds) > 1:
        # numpy would turn them all into str, and predict 0 as "0"
        raise ValueError(f"y mixes labels of several kinds ({', '.join(sorted(kinds))}); use one.")
    y_labeled = np.asarray(y[~unlabeled].tolist())
    check_classification_targets(y_labeled)
    classes, y_labeled = np.unique(y_labeled, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y has {len(classes)} class among its labeled rows; at least 2 are needed.")
    X_unlabeled = [x for x, u in zip(X, unlabeled) if u] + (
        [] if X_unlabeled is None else check_texts(X_unlabeled, "X_unlabeled"))
    return X_labeled, y_labeled, classes, X_unlabeled
