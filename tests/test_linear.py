"""LinearSSVAEClassifier: the SSVAE whose q(y|x) is the mean-vectors logistic regression."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import sslvae_text.linear as linear
from sslvae_text import LinearSSVAEClassifier, UnlabeledTexts
from sslvae_text.datasets import make_text_classification

# fastText vectors of 8 dimensions trained on the documents: no package needed, and quick.
FAST = dict(embeddings={"fasttext": {"vector_size": 8}}, max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def docs():
    X, y = make_text_classification(160, n_classes=2, vocabulary_size=200, n_informative=20, mean_length=12,
                                    random_state=0)
    return X[:30], y[:30], X[30:110], X[110:], y[110:]


def record_training(monkeypatch):
    calls, real = [], LinearSSVAEClassifier._train
    monkeypatch.setattr(LinearSSVAEClassifier, "_train",
                        lambda self, **k: calls.append(dict(alpha=k["alpha"], rows=k["rows"], C=k["C"]))
                        or real(self, **k))
    return calls


def test_alpha_is_chosen_by_cross_validation_then_refitted_on_every_label(docs, monkeypatch):
    X, y, X_u, _, _ = docs
    calls = record_training(monkeypatch)
    clf = LinearSSVAEClassifier(alphas=[1000, 1], cv=3, **FAST).fit(X, y, X_unlabeled=X_u)
    assert set(clf.cv_results_) == {1.0, 1000.0}
    assert clf.alpha_ == max(clf.cv_results_, key=lambda a: (clf.cv_results_[a], a))
    assert len(calls) == 3 * 2 + 1  # each fold each alpha, then the refit
    assert all(len(c["rows"]) == 20 for c in calls[:-1])
    assert calls[-1]["alpha"] == clf.alpha_ and calls[-1]["rows"].tolist() == list(range(30))
    # the penalty's C is the logistic regression's own choice on the same features
    peer = LogisticRegressionCV(cv=3, max_iter=3000).fit(clf.vectors_.transform(X), y)
    assert calls[-1]["C"] == clf.C_ == pytest.approx(peer.C_[0])


def test_one_alpha_skips_the_cross_validation(docs, monkeypatch):
    X, y, X_u, _, _ = docs
    calls = record_training(monkeypatch)
    clf = LinearSSVAEClassifier(alphas=[10], **FAST).fit(X, y, X_unlabeled=X_u)
    assert clf.cv_results_ == {} and clf.alpha_ == 10.0 and len(calls) == 1


def test_a_prediction_weighs_q_y_by_p_x_given_y(docs):
    X, y, X_u, X_test, _ = docs
    clf = LinearSSVAEClassifier(alphas=[10], generative_weight=0.5, **FAST).fit(X, y, X_unlabeled=X_u)
    module = clf.module_
    features = torch.as_tensor(clf.vectors_.transform(X_test), dtype=torch.float32)
    counts = torch.zeros(len(X_test), len(clf.vocabulary_))  # by hand: words of the vocabulary, specials out
    for row, x in enumerate(X_test):
        for word in x.lower().split():
            if clf.vocabulary_.stoi.get(word, 0) >= 2:
                counts[row, clf.vocabulary_.stoi[word]] += 1
    with torch.no_grad():
        log_q = module.q_y(features).log_softmax(-1)
        log_p = module.p_bag.log_likelihoods(counts)
    np.testing.assert_allclose(clf.predict_proba(X_test), (log_q + 0.5 * log_p).softmax(-1).numpy(), rtol=1e-4)
    clf.set_params(generative_weight=0.0)
    np.testing.assert_allclose(clf.predict_proba(X_test), log_q.exp().numpy(), rtol=1e-4)
    assert not np.allclose((log_q + 0.5 * log_p).softmax(-1).numpy(), log_q.exp().numpy(), atol=1e-3)


def test_the_unlabeled_documents_reach_the_objective_and_a_fit_without_them_is_finite(docs, monkeypatch):
    X, y, X_u, X_test, _ = docs
    seen, real = [], linear.enumerated_ssvae_loss
    monkeypatch.setattr(linear, "enumerated_ssvae_loss", lambda y_logits, log_p_x, labels, *, alpha: seen.append(
        (labels.clone(), tuple(log_p_x.shape))) or real(y_logits, log_p_x, labels, alpha=alpha))
    together = LinearSSVAEClassifier(alphas=[1], **FAST).fit(X, y, X_unlabeled=X_u)
    labels, shape = seen[-1]
    assert int((labels == -1).sum()) == len(X_u) == together.n_unlabeled_ and shape == (len(X) + len(X_u), 2)
    # without unlabeled documents the objective is its labeled half (an empty mean would be NaN)
    alone = LinearSSVAEClassifier(alphas=[1], **FAST).fit(X, y)
    assert alone.n_unlabeled_ == 0 and np.isfinite(alone.predict_proba(X_test)).all()
    # rows labeled -1 are unlabeled documents too
    marked = LinearSSVAEClassifier(alphas=[1], **FAST).fit(list(X) + list(X_u), list(y) + [-1] * len(X_u))
    np.testing.assert_allclose(marked.predict_proba(X_test), together.predict_proba(X_test), rtol=1e-5)


def test_it_clones_pickles_and_searches_like_an_estimator(docs):
    X, y, X_u, X_test, y_test = docs
    clf = LinearSSVAEClassifier(alphas=[10], **FAST).fit(X, y, X_unlabeled=X_u)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert clone(clf).get_params() == clf.get_params() and not hasattr(clone(clf), "module_")
    search = GridSearchCV(LinearSSVAEClassifier(alphas=[10], **FAST), {"generative_weight": [0.0, 0.1]}, cv=2)
    search.fit(X, y, X_unlabeled=UnlabeledTexts(X_u))
    assert search.best_estimator_.n_unlabeled_ == len(X_u)
    assert 0 <= search.score(X_test, y_test) <= 1 and set(clf.predict(X_test)) <= set(y)


def test_bad_input_is_refused_with_a_reason(docs):
    X, y, _, _, _ = docs
    with pytest.raises(ValueError, match="alphas must hold one or more numbers >= 0"):
        LinearSSVAEClassifier(alphas=[], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 are needed"):
        LinearSSVAEClassifier(**FAST).fit(X, [0] * len(X))
    with pytest.raises(InvalidParameterError):
        LinearSSVAEClassifier(cv=1, **FAST).fit(X, y)
    with pytest.raises(TypeError, match="X must be an iterable of str"):
        LinearSSVAEClassifier(**FAST).fit("one document", [0])
