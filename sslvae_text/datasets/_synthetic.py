"""A seeded synthetic corpus for examples and tests, in the spirit of ``make_classification``."""

import numpy as np
from sklearn.utils import check_random_state


def _zipf(n):
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def make_text_classification(
    n_samples=1000, *, n_classes=2, vocabulary_size=2000, n_informative=100,
    informative_fraction=0.2, mean_length=30, random_state=None,
):
    """Generate documents whose words depend on their class.

    Every class owns ``n_informative`` words of its own; all classes share the rest of the
    vocabulary. A document of class k draws each token from k's words with probability
    ``informative_fraction``, else from the shared words; both draws follow Zipf's law, so
    most of a class's words are rare: a few labeled documents show only some of them, and
    unlabeled documents, through the words that co-occur, reveal the others.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of documents.
    n_classes : int, default=2
        Number of classes, balanced.
    vocabulary_size : int, default=2000
        Number of distinct words, shared and informative.
    n_informative : int, default=100
        Words owned by each class; ``n_classes * n_informative`` must be below
        ``vocabulary_size``.
    informative_fraction : float, default=0.2
        Probability that a token is drawn from its class's own words.
    mean_length : float, default=30
        Mean number of tokens of a document (Poisson, at least 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    X : list of str
        Documents, words separated by single spaces.
    y : ndarray of shape (n_samples,)
        Class of each document, in ``range(n_classes)``.

    Examples
    --------
    >>> from sslvae_text.datasets import make_text_classification
    >>> X, y = make_text_classification(n_samples=4, mean_length=5, random_state=0)
    >>> len(X), y.tolist()
    (4, [0, 1, 0, 1])
    >>> len(X[0].split()) > 0
    True
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
    n_shared = vocabulary_size - n_classes * n_informative
    if n_informative < 1 or n_shared < 1:
        raise ValueError(
            f"n_classes * n_informative = {n_classes * n_informative} must lie in "
            f"[{n_classes}, vocabulary_size={vocabulary_size})."
        )
    if not 0 <= informative_fraction <= 1:
        raise ValueError(f"informative_fraction must be in [0, 1], got {informative_fraction}.")
    rng = check_random_state(random_state)
    # Word names carry no hint of their class.
    words = np.array([f"w{i}" for i in rng.permutation(vocabulary_size)])
    shared, informative = words[:n_shared], words[n_shared:].reshape(n_classes, n_informative)
    p_shared, p_informative = _zipf(n_shared), _zipf(n_informative)

    y = np.arange(n_samples) % n_classes
    lengths = np.maximum(1, rng.poisson(mean_length, size=n_samples))
    X = []
    for label, length in zip(y, lengths):
        from_class = rng.random_sample(length) < informative_fraction
        tokens = np.where(
            from_class,
            rng.choice(informative[label], size=length, p=p_informative),
            rng.choice(shared, size=length, p=p_shared),
        )
        X.append(" ".join(tokens))
    return X, y
