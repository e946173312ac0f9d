"""A semi-supervised VAE built on the peer to beat: q(y|x) is the mean-vectors logistic regression.

With pretrained word vectors and a few hundred labels, a logistic regression on the mean of a
document's vectors is hard to beat (docs/results.md). :class:`LinearSSVAEClassifier` keeps it as
q(y|x) and adds what the unlabeled documents can teach: p(x|y), a bag-of-words word distribution
per class, trained with q(y|x) by the SSVAE objective (the exact sum over y, the KL of q(y|x) to
the uniform prior, ``alpha`` on log q(y|x) of the labeled documents). The logistic regression's
penalty is the one its cross-validation chooses, ``alpha`` is chosen by cross-validation on the
labeled documents, and a prediction weighs q(y|x) by p(x|y).

Both halves are log-linear, so the whole corpus is one batch: a fit takes seconds to minutes.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, _fit_context
from ._validation import check_texts, split_labeled
from .embeddings import MeanVectors
from .model import LinearSSVAE
from .objective import enumerated_ssvae_loss
from .text import SPECIALS, Vocabulary, tokenize
from .training import torch_threads

__all__ = ["LinearSSVAEClassifier"]


class LinearSSVAEClassifier(ClassifierMixin, BaseEstimator):
    """Semi-supervised VAE whose q(y|x) is a logistic regression on the mean of the word vectors.

    q(y|x) reads the L2-normalised mean of a document's pretrained word vectors
    (:class:`~sslvae_text.embeddings.MeanVectors`); p(x|y) is a bag-of-words model, one softmax
    over the vocabulary per class. They are trained together on labeled and unlabeled documents
    by the SSVAE objective with the exact sum over y (Kingma et al.'s M2, without z), in one
    batch with Adam. The penalty on q(y|x)'s weights is that of the ``C`` a
    :class:`~sklearn.linear_model.LogisticRegressionCV` chooses on the labeled documents, and
    ``alpha`` is chosen among ``alphas`` by ``cv``-fold cross-validation on them. A prediction
    is ``softmax(log q(y|x) + generative_weight * log p(x|y))``.

    Parameters
    ----------
    embeddings : str, path or dict, default="glove-6b-50d"
        The word vectors, as :class:`SSVAETextClassifier`'s ``embeddings`` (they are not
        fine-tuned here): a name in :data:`sslvae_text.embeddings.NAMED_VECTORS`, a path, or
        ``"fasttext"`` to train fastText vectors on the documents given to ``fit``.

    alphas : sequence of float, default=(1, 3, 10, 100, 1000)
        Candidate weights of log q(y|x) on the labeled documents against the ELBo. Large
        values leave q(y|x) the logistic regression; small ones let the unlabeled documents
        move it. One value skips the cross-validation.

    cv : int, default=3
        Folds of the labeled documents (stratified) that choose ``alpha``, and of the
        logistic regression that chooses ``C``; fewer when a class has fewer documents.

    generative_weight : float, default=0.1
        Weight of log p(x|y) beside log q(y|x) in a prediction. 0 predicts with q(y|x) alone.

    vocabulary_size : int, default=10000
        Most frequent words that p(x|y) models; the others are left out of its counts.

    max_length : int or None, default=400
        Tokens read per document (lower-cased, split on white space), for both halves.

    max_iter : int, default=300
        Adam updates over the whole corpus.

    learning_rate : float, default=0.05
        Adam's learning rate.

    random_state : int, RandomState instance or None, default=None
        Seeds the folds, p(x|y)'s initialisation and fastText training.

    n_threads : int or None, default=None
        torch's intra-op CPU threads during ``fit`` and ``predict``, restored afterwards.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    alpha_ : float
        The ``alpha`` chosen (the largest among equal cross-validated accuracies).

    C_ : float
        The inverse penalty of q(y|x)'s weights, chosen by the logistic regression's
        cross-validation on all the labeled documents: the penalty is
        ``alpha_ / (2 * C_ * n_labeled_) * ||W||^2``, a logistic regression's own.

    cv_results_ : dict
        ``{alpha: mean accuracy over the folds}``; empty when one alpha was given or the
        labeled documents are too few to fold.

    vectors_ : MeanVectors
        The fitted features of q(y|x).

    vocabulary_ : Vocabulary
        The words p(x|y) models.

    module_ : LinearSSVAE
        The trained q(y|x) and p(x|y).

    n_labeled_, n_unlabeled_ : int
        Documents trained on.

    See Also
    --------
    SSVAETextClassifier : The paper's SSVAE, with BiLSTM encoders and an LSTM decoder.
    sslvae_text.embeddings.MeanVectors : The features of q(y|x), for the peer itself.

    Examples
    --------
    >>> from sslvae_text import LinearSSVAEClassifier
    >>> from sslvae_text.datasets import make_text_classification
    >>> X, y = make_text_classification(n_samples=300, random_state=0)
    >>> clf = LinearSSVAEClassifier(embeddings={"fasttext": {"vector_size": 16}}, alphas=[10],
    ...                             max_iter=50, random_state=0)
    >>> clf.fit(X[:40], y[:40], X_unlabeled=X[40:200])
    LinearSSVAEClassifier(...)
    >>> clf.predict_proba(X[200:203]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        "embeddings": [str, os.PathLike, dict],
        "alphas": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "generative_weight": [Interval(Real, 0, None, closed="left")],
        "vocabulary_size": [Interval(Integral, 1, None, closed="left")],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    __metadata_request__fit = {"X_unlabeled": True}

    def __init__(self, *, embeddings="glove-6b-50d", alphas=(1, 3, 10, 100, 1000), cv=3, generative_weight=0.1,
                 vocabulary_size=10000, max_length=400, max_iter=300, learning_rate=0.05, random_state=None,
                 n_threads=None):
        self.embeddings = embeddings
        self.alphas = alphas
        self.cv = cv
        self.generative_weight = generative_weight
        self.vocabulary_size = vocabulary_size
        self.max_length = max_length
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.n_threads = n_threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, X_unlabeled=None):
        """Train on labeled and unlabeled documents, choosing ``alpha`` by cross-validation.

        Parameters
        ----------
        X : iterable of str
            Documents; rows labeled -1 in ``y`` are unlabeled.
        y : array-like of shape (n_documents,)
            Labels, -1 for an unlabeled row.
        X_unlabeled : iterable of str, UnlabeledTexts or None, default=None
            More unlabeled documents.

        Returns
        -------
        self : object
        """
        alphas = sorted({float(a) for a in np.atleast_1d(self.alphas)})
        if not alphas or min(alphas) < 0:
            raise ValueError(f"alphas must hold one or more numbers >= 0; got {self.alphas!r}.")
        X_labeled, y_labeled, self.classes_, X_unlabeled = split_labeled(X, y, X_unlabeled)
        rng = check_random_state(self.random_state)
        self.vectors_ = MeanVectors(self.embeddings, max_length=self.max_length,
                                    random_state=rng.randint(np.iinfo(np.int32).max)).fit(X_labeled + X_unlabeled)
        tokenized = [tokenize(x)[: self.max_length] for x in X_labeled + X_unlabeled]
        self.vocabulary_ = Vocabulary.build(tokenized, max_size=self.vocabulary_size)
        self.n_labeled_, self.n_unlabeled_ = len(X_labeled), len(X_unlabeled)
        features, counts = self.vectors_._mean_of(tokenized), self._counts(tokenized)
        labeled = np.arange(len(X_labeled))
        seed = rng.randint(np.iinfo(np.int32).max)
        with torch_threads(self.n_threads), torch.random.fork_rng(devices=[]):
            # The background word frequencies, from every document, start each class's p(x|y).
            log_frequency = np.log(np.asarray(counts.sum(axis=0)).ravel() + 1.0)
            train = dict(features=features, counts=counts, y=y_labeled, n_labeled=len(X_labeled),
                         log_frequency=log_frequency - log_frequency.mean(), seed=seed)
            n_folds = min(self.cv, int(np.bincount(y_labeled).min()))
            self.cv_results_ = {}
            if len(alphas) > 1 and n_folds >= 2:
                folds = StratifiedKFold(n_folds, shuffle=True, random_state=rng).split(labeled, y_labeled)
                scores = {alpha: [] for alpha in alphas}
                for rows, held_out in folds:
                    C = _penalty_C(features[rows], y_labeled[rows], n_folds)
                    for alpha in alphas:
                        module = self._train(**train, rows=rows, alpha=alpha, C=C)
                        proba = self._log_posterior(module, features[held_out], counts[held_out])
                        scores[alpha].append(float((proba.argmax(1) == y_labeled[held_out]).mean()))
                self.cv_results_ = {alpha: float(np.mean(s)) for alpha, s in scores.items()}
            self.alpha_ = max(alphas, key=lambda a: (self.cv_results_.get(a, 0.0), a))
            self.C_ = _penalty_C(features[labeled], y_labeled, n_folds)
            self.module_ = self._train(**train, rows=labeled, alpha=self.alpha_, C=self.C_)
        return self

    def _train(self, *, features, counts, y, n_labeled, log_frequency, seed, rows, alpha, C):
        """The module trained on the labeled documents ``rows`` and every unlabeled one."""
        torch.manual_seed(seed)
        module = LinearSSVAE(n_features=features.shape[1], n_classes=len(self.classes_),
                             vocabulary_size=len(self.vocabulary_))
        with torch.no_grad():
            module.q_y.linear.weight.zero_()
            module.q_y.linear.bias.zero_()
            module.p_bag.linear.weight.normal_(0.0, 0.01)
            module.p_bag.linear.bias.copy_(torch.as_tensor(log_frequency, dtype=torch.float32))
        documents = np.concatenate([rows, np.arange(n_labeled, features.shape[0])])
        labels = torch.as_tensor(np.concatenate([y[rows], np.full(features.shape[0] - n_labeled, -1)]))
        inputs = torch.as_tensor(features[documents], dtype=torch.float32)
        words = _torch_csr(counts[documents])
        # A logistic regression's penalty, 1/(2 C) ||W||^2 beside the sum of its losses, scaled
        # as alpha times their mean is.
        penalty = alpha / (2 * C * len(rows))
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
        for _ in range(self.max_iter):
            optimizer.zero_grad()
            loss = enumerated_ssvae_loss(module.q_y(inputs), module.p_bag.log_likelihoods(words), labels,
                                         alpha=alpha)
            (loss + penalty * module.q_y.linear.weight.pow(2).sum()).backward()
            optimizer.step()
        return module.eval()

    def _log_posterior(self, module, features, counts):
        """log q(y|x) + generative_weight * log p(x|y), unnormalised: shape (documents, classes)."""
        with torch.no_grad():
            log_q = module.q_y(torch.as_tensor(features, dtype=torch.float32)).log_softmax(-1)
            if self.generative_weight:
                log_q = log_q + self.generative_weight * module.p_bag.log_likelihoods(_torch_csr(counts))
        return log_q.double().numpy()

    def _counts(self, tokenized):
        """Word counts of tokenised documents over the vocabulary (its special tokens left out)."""
        ids = [self.vocabulary_.encode(tokens) for tokens in tokenized]
        rows = np.repeat(np.arange(len(ids)), [len(doc) for doc in ids])
        cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        keep = cols >= len(SPECIALS)
        counts = scipy.sparse.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (rows[keep], cols[keep])),
                                         shape=(len(ids), len(self.vocabulary_)))
        counts.sum_duplicates()
        return counts

    def predict_proba(self, X):
        """Class probabilities, ``softmax(log q(y|x) + generative_weight * log p(x|y))``.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        proba : ndarray of shape (n_documents, n_classes)
        """
        check_is_fitted(self)
        tokenized = [tokenize(x)[: self.max_length] for x in check_texts(X, "X")]
        with torch_threads(self.n_threads):
            log_posterior = self._log_posterior(self.module_, self.vectors_._mean_of(tokenized),
                                                self._counts(tokenized))
        log_posterior -= log_posterior.max(axis=1, keepdims=True)
        proba = np.exp(log_posterior)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each document.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        y_pred : ndarray of shape (n_documents,)
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _penalty_C(features, y, n_folds):
    """The C of the peer: chosen by a logistic regression's cross-validation (10 when it cannot fold)."""
    if n_folds < 2:
        return 10.0
    with warnings.catch_warnings():
        # scikit-learn 1.9 announces changes of LogisticRegressionCV's defaults that do not
        # change this use (accuracy, L2, C_); the user can do nothing about them.
        warnings.simplefilter("ignore", FutureWarning)
        return float(LogisticRegressionCV(cv=n_folds, max_iter=3000).fit(features, y).C_[0])


def _torch_csr(matrix):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        return torch.sparse_csr_tensor(torch.as_tensor(matrix.indptr, dtype=torch.int64),
                                       torch.as_tensor(matrix.indices, dtype=torch.int64),
                                       torch.as_tensor(matrix.data), size=matrix.shape, check_invariants=False)
