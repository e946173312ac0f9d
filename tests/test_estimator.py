"""scikit-learn conventions, input checks, persistence and reproducibility of the estimators."""

import inspect
import pickle
import random
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings, strategies as st
from sklearn import config_context
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as ec
from sklearn.utils._param_validation import InvalidParameterError

import sslvae_text.estimator as estimator_module
import sslvae_text.training as training
from sslvae_text import (SemiSupervisedKFold, SSVAETextClassifier, SupervisedTextClassifier, UnlabeledTexts,
                         objective)
from sslvae_text.estimator import _resolve_device
from sslvae_text.model import SSVAE

from conftest import Stop, record_train, record_updates, tiny_ssvae, tiny_supervised

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

API_CHECKS = [
    ec.check_estimator_cloneable, ec.check_estimator_repr, ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types, ec.check_no_attributes_set_in_init,
    ec.check_do_not_raise_errors_in_init_or_set_params, ec.check_mixin_order,
    ec.check_parameters_default_constructible, ec.check_get_params_invariance,
    ec.check_set_params, ec.check_estimators_unfitted, ec.check_param_validation,
]


@pytest.mark.parametrize("estimator", [SSVAETextClassifier(), SupervisedTextClassifier()],
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_api_checks(estimator, check):
    check(type(estimator).__name__, estimator)


def test_tags_declare_string_input():
    tags = SSVAETextClassifier().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert is_classifier(SSVAETextClassifier()) and is_classifier(SupervisedTextClassifier())


def test_fit_returns_self_and_leaves_parameters_untouched(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(random_state=np.random.RandomState(3))
    before = clf.get_params()
    assert clf.fit(X, y, X_unlabeled=X_u) is clf
    after = clf.get_params()
    assert before.keys() == after.keys()
    assert all(after[k] is before[k] for k in before)


def test_predict_before_fit_raises_not_fitted(corpus):
    with pytest.raises(NotFittedError):
        tiny_ssvae().predict(corpus[0])


def test_string_labels_predictions_and_fitted_attributes(fitted, corpus):
    X, y, X_u, X_test, _ = corpus
    assert fitted.classes_.tolist() == ["sports", "tech", "world"]
    assert set(fitted.predict(X_test)) <= set(fitted.classes_)
    assert fitted.n_labeled_ + round(0.1 * len(X)) == len(X) and fitted.n_unlabeled_ == len(X_u)
    assert fitted.n_iter_ == len(fitted.history_) == 2
    assert fitted.device_ == "cpu"
    assert {"supervised_loss", "reconstruction", "kl_z", "kl_y", "valid_accuracy",
            "learning_rate", "seconds"} <= fitted.history_[0].keys()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=6))
def test_predict_proba_is_a_distribution_on_any_text(fitted, texts):
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_empty_and_unknown_documents_are_handled(corpus):
    X, y, _, _, _ = corpus
    clf = tiny_supervised().fit(X + ["", "   "], list(y) + ["tech", "world"])
    assert clf.predict(["", "zzzz qqqq never seen"]).shape == (2,)
    assert clf.predict_proba([]).shape == (0, 3)


def test_minus_one_rows_are_unlabeled_and_score_ignores_them(corpus):
    X, y, X_u, X_test, y_test = corpus
    y_int = (np.unique(y, return_inverse=True)[1] + 5).tolist()
    clf = tiny_ssvae().fit(X + X_u, y_int + [-1] * len(X_u))
    assert -1 not in clf.classes_ and clf.classes_.tolist() == [5, 6, 7]
    assert clf.n_unlabeled_ == len(X_u)
    y_test_int = np.unique(y_test, return_inverse=True)[1] + 5
    expected = clf.score(X_test, y_test_int)
    assert clf.score(X_test + X_u[:7], list(y_test_int) + [-1] * 7) == expected


def test_unlabeled_rows_and_x_unlabeled_train_the_same_model(corpus):
    X, y, X_u, X_test, _ = corpus
    a = tiny_ssvae().fit(X, y, X_unlabeled=X_u)
    b = tiny_ssvae().fit(X + X_u, np.concatenate([y, np.full(len(X_u), -1, dtype=object)]))
    np.testing.assert_allclose(a.predict_proba(X_test), b.predict_proba(X_test))
    # and both trained on them: the ELBo of unlabeled documents (its kl_y) is in every check
    assert a.n_unlabeled_ == b.n_unlabeled_ == len(X_u)
    assert all(c["kl_y"] is not None for c in a.history_ + b.history_)


@pytest.mark.parametrize(
    "X, y, X_unlabeled, error, match",
    [
        (None, [0, 1], None, TypeError, "X must be an iterable of str, got None"),
        ("one string", [0], None, TypeError, "not a single str"),
        (["a", b"bytes"], [0, 1], None, TypeError, r"X\[1\] is bytes"),
        (["a", float("nan")], [0, 1], None, TypeError, r"X\[1\] is float"),
        (["a", 3], [0, 1], None, TypeError, r"X\[1\] is int"),
        (["a", "b", "c"], [0, 1], None, ValueError, "X has 3 documents but y has 2 labels"),
        (["a", "b"], [0, 0], None, ValueError, "at least 2 are needed"),
        (["a", "b"], [-1, -1], None, ValueError, "no labeled row"),
        (["a", "b"], [0, 1], ["ok", None], TypeError, r"X_unlabeled\[1\] is NoneType"),
        (["a", "b"], [0, 1], 42, TypeError, "X_unlabeled must be an iterable of str, got int"),
    ],
)
def test_bad_input_is_refused_before_training(X, y, X_unlabeled, error, match, monkeypatch):
    clf = tiny_ssvae()
    monkeypatch.setattr(type(clf), "_train", lambda *a: pytest.fail("trained on bad input"))
    with pytest.raises(error, match=match):
        clf.fit(X, y, X_unlabeled=X_unlabeled)


@pytest.mark.parametrize("params", [{"alpha": -1}, {"use_kl": "yes"}, {"device": "tpu"},
                                    {"output_layer": "huge"}, {"validation_fraction": 1.5}])
def test_invalid_hyperparameters_name_the_parameter(corpus, params):
    X, y, _, _, _ = corpus
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        tiny_ssvae(**params).fit(X, y)


@pytest.mark.parametrize("make", [tiny_ssvae, tiny_supervised])
def test_same_random_state_same_predictions_and_global_rng_untouched(corpus, make):
    X, y, X_u, X_test, _ = corpus
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    first = make().fit(X, y, X_unlabeled=X_u).predict_proba(X_test)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]
    second = clone(make()).fit(X, y, X_unlabeled=X_u).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)
    other = make(random_state=1).fit(X, y, X_unlabeled=X_u).predict_proba(X_test)
    assert not np.array_equal(first, other)


def test_pickle_and_joblib_round_trips_give_identical_predictions(fitted, corpus, tmp_path):
    X_test = corpus[3]
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    for restored in (pickle.loads(pickle.dumps(fitted)), joblib.load(path)):
        np.testing.assert_array_equal(restored.predict_proba(X_test), fitted.predict_proba(X_test))


def test_a_model_saved_from_a_gpu_loads_on_a_cpu_only_machine(corpus, monkeypatch):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(warm_start=True).fit(X, y, X_unlabeled=X_u)
    assert clf.__getstate__()["module_"] is clf.module_  # a CPU network is pickled as it is
    clf.device_ = "cuda"  # as recorded by a fit on a GPU: pickling copies the network to the CPU
    state = clf.__getstate__()
    assert state["module_"] is not clf.module_ and state["_training_state"] is not clf._training_state
    copied = {id(p) for p in state["module_"].parameters()}
    assert {id(p) for group in state["_training_state"].optimizer.param_groups for p in group["params"]} <= copied
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(pickle.dumps(clf))
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    np.testing.assert_array_equal(restored.predict(X_test), clf.predict(X_test))
    restored.fit(X, y, X_unlabeled=X_u)  # and its training goes on there
    assert restored.n_updates_ == 2 * clf.n_updates_


def test_auto_device_records_what_it_used(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert tiny_supervised(device="auto").fit(X, y).device_ == "cpu"
    with pytest.raises(ValueError, match="no CUDA device"):
        tiny_supervised(device="cuda").fit(X, y)


def test_supervised_baseline_ignores_unlabeled_documents(corpus):
    X, y, X_u, X_test, _ = corpus
    with_u = tiny_supervised().fit(X, y, X_unlabeled=X_u)
    without = tiny_supervised().fit(X, y)
    assert with_u.n_unlabeled_ == 0 and with_u.module_.p_x is None
    np.testing.assert_array_equal(with_u.predict_proba(X_test), without.predict_proba(X_test))


class _RecordingSSVAE(SSVAETextClassifier):
    """Records how many unlabeled documents each fit received."""

    seen = []

    def fit(self, X, y, X_unlabeled=None, validation_data=None):
        _RecordingSSVAE.seen.append(0 if X_unlabeled is None else len(list(X_unlabeled)))
        return super().fit(X, y, X_unlabeled=X_unlabeled, validation_data=validation_data)


def _recording(**params):
    return _RecordingSSVAE(**{**tiny_ssvae().get_params(), **params})


@pytest.mark.slow  # a search: several fits
def test_grid_search_slices_a_plain_list_but_never_unlabeled_texts(corpus):
    X, y, X_u, _, _ = corpus
    X_u = X_u[: len(X)] + X_u[: len(X) - len(X_u)] if len(X_u) < len(X) else X_u[: len(X)]
    assert len(X_u) == len(X)
    _RecordingSSVAE.seen = []
    GridSearchCV(_recording(), {"alpha": [1.0]}, cv=3, refit=False).fit(X, y, X_unlabeled=X_u)
    assert _RecordingSSVAE.seen == [40, 40, 40]  # the trap: 60 documents cut to 2/3 per fold
    _RecordingSSVAE.seen = []
    search = GridSearchCV(_recording(), {"alpha": [1.0, 100.0]}, cv=3)
    search.fit(X, y, X_unlabeled=UnlabeledTexts(X_u))
    assert _RecordingSSVAE.seen == [60] * 7
    # each candidate's alpha reached its clones, and the refit model has the best one
    assert [p["alpha"] for p in search.cv_results_["params"]] == [1.0, 100.0]
    assert search.best_estimator_.alpha == search.best_params_["alpha"]


@pytest.mark.slow  # a search: several fits
def test_semi_supervised_kfold_keeps_unlabeled_rows_in_every_training_fold(corpus):
    X, y, X_u, _, _ = corpus
    X_all = X + X_u
    y_all = np.concatenate([y, np.full(len(X_u), -1, dtype=object)])
    unlabeled = set(range(len(X), len(X_all)))
    tests = []
    for train, test in SemiSupervisedKFold(n_splits=3, shuffle=True, random_state=0).split(X_all, y_all):
        assert unlabeled <= set(train.tolist()) and not unlabeled & set(test.tolist())
        tests.extend(test.tolist())
    assert sorted(tests) == list(range(len(X)))
    cv = SemiSupervisedKFold(n_splits=3)
    scores = cross_val_score(tiny_ssvae(), X_all, y_all, cv=cv)
    # each score is the accuracy on the fold's labeled rows of a model fit on all the others
    train, test = next(cv.split(X_all, y_all))
    X_all = np.array(X_all, dtype=object)
    fold = tiny_ssvae().fit(list(X_all[train]), y_all[train])
    assert scores[0] == pytest.approx(fold.score(list(X_all[test]), y_all[test]))


def test_metadata_routing_passes_x_unlabeled_whole(corpus):
    X, y, X_u, _, _ = corpus
    _RecordingSSVAE.seen = []
    with config_context(enable_metadata_routing=True):
        GridSearchCV(_recording(), {"alpha": [1.0]}, cv=2, refit=False).fit(
            X, y, X_unlabeled=UnlabeledTexts(X_u))
    assert _RecordingSSVAE.seen == [len(X_u)] * 2


def test_pipeline_with_the_classifier_last(corpus):
    X, y, X_u, X_test, _ = corpus
    pipe = Pipeline([("clf", tiny_ssvae())]).fit(X, y, clf__X_unlabeled=X_u)
    assert pipe.named_steps["clf"].n_unlabeled_ == len(X_u)
    np.testing.assert_array_equal(pipe.predict(X_test), pipe.named_steps["clf"].predict(X_test))


def test_explicit_validation_data_drives_early_stopping(corpus):
    X, y, X_u, X_test, y_test = corpus
    clf = tiny_ssvae(max_updates=6).fit(X, y, X_unlabeled=X_u, validation_data=(X_test, y_test))
    assert clf.n_labeled_ == len(X)
    best = clf.history_[clf.best_iteration_ - 1]["valid_accuracy"]
    assert best == clf.best_validation_score_ == max(h["valid_accuracy"] for h in clf.history_)
    assert clf.score(X_test, y_test) == pytest.approx(best)
    with pytest.raises(ValueError, match="labels absent from y"):
        tiny_ssvae().fit(X, y, validation_data=(X_test[:2], ["sports", "cooking"]))


def test_a_failed_refit_leaves_no_stale_fitted_state(corpus):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(vocabulary_size=20).fit(X, y, X_unlabeled=X_u)
    clf.set_params(vocabulary_size=200, embeddings={"fasttext": {"bogus": 1}})
    with pytest.raises(ValueError, match="bogus"):
        clf.fit(X, y, X_unlabeled=X_u)
    with pytest.raises(NotFittedError):
        clf.predict(X_test)


# -- messages, devices, embeddings' wiring -------------------------------------------------------

def test_validation_data_that_is_not_a_pair_is_named_in_the_error(corpus):
    X, y, _, X_test, y_test = corpus
    with pytest.raises(TypeError, match=r"^validation_data must be a pair \(X_val, y_val\) of "
                                        r"documents and their labels; got tuple of length 3\.$"):
        tiny_ssvae().fit(X, y, validation_data=(X_test, y_test, X_test))
    with pytest.raises(TypeError, match=r"labels; got int\.$"):
        tiny_ssvae().fit(X, y, validation_data=5)
    with pytest.raises(TypeError, match=r"^validation_data\[0\] must be an iterable of str"):
        tiny_ssvae().fit(X, y, validation_data=("one document", y_test))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_prediction_errors_name_the_documents_argument(fitted, method):
    args = ("one document",) + (("sports",) if method == "score" else ())
    with pytest.raises(TypeError, match=r"^X must be an iterable of str, not a single str\.$"):
        getattr(fitted, method)(*args)


def test_a_score_without_labels_is_refused(fitted, corpus):
    _, _, _, X_test, _ = corpus
    with pytest.raises(ValueError, match=r"^y has no labeled row to score: every label is -1 "
                                         r"\(the unlabeled marker\)\.$"):
        fitted.score(X_test, [-1] * len(X_test))


def test_validation_fraction_keeps_at_least_one_document_on_each_side():
    X, y = ["red apple", "blue sea", "green leaf"], ["a", "b", "a"]
    clf = tiny_supervised(validation_fraction=0.3, max_updates=2).fit(X, y)  # 1 held out, 2 trained
    assert clf.n_labeled_ == 2
    with pytest.raises(ValueError, match="leaves no training or no validation document out of 3"):
        tiny_supervised(validation_fraction=0.9).fit(X, y)


@pytest.mark.parametrize("n_val, warned", [(3, True), (49, True), (50, False)])
def test_a_validation_set_under_50_documents_is_warned_about(n_val, warned, corpus, recwarn):
    X, y, _, _, _ = corpus
    X_val, y_val = (list(X) * 2)[:n_val], (list(y) * 2)[:n_val]
    tiny_supervised(max_updates=2).fit(X, y, validation_data=(X_val, y_val))
    messages = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    small = [m for m in messages if m.startswith(f"The validation set has {n_val} documents")]
    assert bool(small) == warned
    if n_val == 3:
        assert "moves in steps of 33 points" in small[0]
        assert small[0].endswith("Pass validation_data or raise validation_fraction if more "
                                 "labels can be spared.")


def test_fasttext_vectors_are_trained_on_the_fit_documents_from_the_seed(corpus, capsys):
    X, y, X_u, _, _ = corpus

    def vectors(seed, verbose=0):
        clf = tiny_ssvae(embeddings={"fasttext": {"epochs": 1}}, freeze_embeddings=True,
                         max_updates=2, validation_fraction=None, random_state=seed,
                         verbose=verbose).fit(X, y, X_unlabeled=X_u)
        return clf, clf.module_.embedding.weight.detach().clone()

    clf, first = vectors(0)
    quiet = capsys.readouterr()
    assert quiet.out == quiet.err == ""
    assert (first[2:].abs().sum(1) > 0).all()  # every corpus word has a vector
    torch.testing.assert_close(first, vectors(0)[1])
    assert not torch.allclose(first, vectors(1)[1])
    assert 0 <= clf.embeddings_seconds_ < 60
    vectors(0, verbose=1)
    out = capsys.readouterr()
    assert "embeddings: " in out.out + out.err and "word vectors ready in" in out.out + out.err
    tiny_ssvae(max_updates=2, verbose=1).fit(X, y, X_unlabeled=X_u)
    out = capsys.readouterr()
    assert "word vectors ready" not in out.out + out.err


def test_device_checks_read_torchs_view_of_the_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [_resolve_device(d, "X") for d in ("auto", "cuda", "cuda:1")] == ["cuda", "cuda", "cuda:1"]
    with pytest.raises(ValueError, match=r"^device='cuda:2' but torch finds 2 CUDA device\(s\)\.$"):
        _resolve_device("cuda:2", "X")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _resolve_device("auto", "X") == "cpu"
    for available in (True, False):
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: available)
        if available:
            assert _resolve_device("mps", "X") == "mps"
        else:
            with pytest.raises(ValueError, match=r"^device='mps' but torch finds no MPS device\.$"):
                _resolve_device("mps", "X")


def test_only_a_fit_without_a_seed_is_tagged_non_deterministic():
    assert SSVAETextClassifier().__sklearn_tags__().non_deterministic
    assert not SSVAETextClassifier(random_state=0).__sklearn_tags__().non_deterministic


def test_semi_supervised_kfold_cuts_the_labeled_rows_as_stratified_kfold_does():
    y = np.array([0, 1, -1, 0, 1, 2, -1, 2, 0, 1, 2, 0, 1, 2, 0] * 2)
    labeled = np.flatnonzero(y != -1)

    def tests(cv):
        return [labeled[test].tolist() for _, test in cv.split(labeled, y[labeled])]

    for kwargs in [{}, dict(shuffle=True, random_state=3)]:
        ours = [test.tolist() for _, test in SemiSupervisedKFold(**kwargs).split(y, y)]
        assert ours == tests(StratifiedKFold(**kwargs))
    assert SemiSupervisedKFold().get_n_splits() == 5
    seeded = [[test.tolist() for _, test in SemiSupervisedKFold(shuffle=True, random_state=s).split(y, y)]
              for s in (3, 3, 4)]
    assert seeded[0] == seeded[1] != seeded[2]


def test_unlabeled_texts_name_themselves_in_errors():
    with pytest.raises(TypeError, match=r"^UnlabeledTexts' texts must be an iterable of str"):
        UnlabeledTexts("one document")


def test_validation_documents_are_held_out_of_training_and_stratified(monkeypatch):
    # 3 classes x 40 documents, each its own words, all of them in the unlabeled document so
    # that the vocabulary has them: word ids identify documents
    X = [f"w{i} w{i + 1000} w{i + 2000}" for i in range(120)]
    X_u = [" ".join(X)]
    y = np.repeat(["a", "b", "c"], 40)
    for seed in (0, 1, 2):
        calls = record_train(monkeypatch, stop=True)
        with pytest.raises(Stop):
            tiny_ssvae(validation_fraction=0.25, random_state=seed).fit(X, y, X_unlabeled=X_u)
        kwargs = calls[0]
        train_docs = {tuple(ids) for ids in kwargs["ids_train"]}
        val_docs = {tuple(ids) for ids in kwargs["ids_val"]}
        assert len(val_docs) == 30 and len(train_docs) == 90 and not train_docs & val_docs
        assert np.bincount(kwargs["y_val"]).tolist() == [10, 10, 10]


def test_training_batches_never_hold_a_validation_document(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    batches = record_updates(monkeypatch)
    calls = record_train(monkeypatch)
    tiny_ssvae(max_updates=12).fit(X, y, X_unlabeled=X_u)
    val_docs = {tuple(ids) for ids in calls[0]["ids_val"]}
    train_docs = {tuple(ids) for ids in calls[0]["ids_train"]}
    trained = {doc for labeled, _ in batches for doc in labeled}
    assert trained <= train_docs and not trained & (val_docs - train_docs)


def test_max_length_truncates_the_training_documents_too(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    calls = record_train(monkeypatch, stop=True)
    with pytest.raises(Stop):
        tiny_ssvae(max_length=3).fit(X, y, X_unlabeled=X_u)
    for name in ("ids_train", "ids_unlabeled", "ids_val"):
        assert max(len(ids) for ids in calls[0][name]) == 3


def test_the_defaults_are_the_documented_settings():
    # The paper's sizes and optimisation (docs/objectives.md), and this package's schedule.
    shared = dict(embedding_dim="auto", hidden_size=100, dropout=0.5, vocabulary_size=10000,
                  max_length=400, embeddings=None, freeze_embeddings=False, batch_size=32,
                  learning_rate=4e-3, mixed_precision=False, validation_interval="auto",
                  lr_patience=4, n_iter_no_change=8, max_updates=20000, validation_fraction=0.1,
                  validation_folds=None, random_state=None, device="auto", n_threads=None, warm_start=False, verbose=0)
    ssvae = dict(shared, alpha=1000.0, use_kl=True, use_z=True, z_dim=32, y_dim=32,
                 decoder_size=300, shared_encoder=False, output_layer="adaptive",
                 unlabeled_y="gumbel", temperature=1.0, z_gradient="stl", kl_warmup="auto",
                 kl_ramp="auto", bow_weight=0.0, decoder_max_length=None)
    assert SupervisedTextClassifier().get_params() == shared
    assert SSVAETextClassifier().get_params() == ssvae
    # the network and the objective have no defaults of their own: the recipe passes the estimator's
    for function in (SSVAE, objective.ssvae_loss, objective.ssvae_objective):
        assert not [name for name, p in inspect.signature(function).parameters.items()
                    if name in ssvae and p.default is not inspect.Parameter.empty and p.default is not None]


def test_score_weighs_the_labeled_rows_by_sample_weight(fitted, corpus, monkeypatch):
    _, _, _, X_test, _ = corpus
    y_pred = fitted.predict(X_test)
    y = np.array(y_pred, dtype=object)
    y[:10] = "none of the classes"  # 10 rows scored wrong
    y[10:15] = -1                    # 5 rows ignored
    weight = np.ones(len(y))
    weight[:10] = 3.0
    # right rows weigh 1 each, wrong ones 3 each; the unlabeled rows do not count
    expected = (len(y) - 15) / (len(y) - 15 + 30)
    assert fitted.score(X_test, y, sample_weight=weight) == pytest.approx(expected)
    assert fitted.score(X_test, y) == pytest.approx((len(y) - 15) / (len(y) - 5))


def test_n_threads_holds_during_fit_and_predict(corpus, monkeypatch):
    X, y, X_u, X_test, _ = corpus
    # torch's thread count as a plain number: a real OpenMP team left in this process would
    # hang the forked workers of mutmut (docs/contributing.md)
    threads = {"n": 1}
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads["n"])
    monkeypatch.setattr(torch, "set_num_threads", lambda n: threads.update(n=n))
    seen = []
    real_update, real_logits = training.update, estimator_module.predict_logits
    monkeypatch.setattr(training, "update", lambda *a, **k: seen.append(
        ("fit", torch.get_num_threads())) or real_update(*a, **k))
    monkeypatch.setattr(estimator_module, "predict_logits", lambda *a, **k: seen.append(
        ("predict", torch.get_num_threads())) or real_logits(*a, **k))
    clf = tiny_ssvae(n_threads=3).fit(X, y, X_unlabeled=X_u)
    clf.predict_proba(X_test)
    assert {n for _, n in seen} == {3} and threads["n"] == 1  # set inside, restored after
    assert {kind for kind, _ in seen} == {"fit", "predict"}


def _validation_labels(monkeypatch, y, fraction, seed):
    calls = record_train(monkeypatch, stop=True)
    X = [f"document {i}" for i in range(len(y))]
    with pytest.raises(Stop):
        tiny_ssvae(validation_fraction=fraction, random_state=seed).fit(X, y)
    return np.bincount(calls[0]["y_val"], minlength=len(set(y))).tolist()


def test_the_validation_split_is_stratified_whenever_it_can_be(monkeypatch):
    # two documents per class and one validation document per class: the edge of both conditions
    y = np.repeat(["a", "b", "c"], 2)
    assert all(_validation_labels(monkeypatch, y, 0.5, seed) == [1, 1, 1] for seed in range(6))
    # a class of one document cannot be stratified: the split is drawn at random, not refused
    y = np.array(["a", "b", "b", "b", "c", "c"])
    counts = [_validation_labels(monkeypatch, y, 0.5, seed) for seed in range(6)]
    assert all(sum(c) == 3 for c in counts) and len({tuple(c) for c in counts}) > 1


def test_a_split_that_leaves_a_class_untrained_is_warned_about(monkeypatch):
    y = np.array(["a"] * 5 + ["b"])
    for seed in range(20):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            counts = _validation_labels(monkeypatch, y, 0.5, seed)
        messages = [str(w.message) for w in caught if w.category is UserWarning
                    and str(w.message).startswith("Holding out")]
        assert bool(messages) == (counts[1] == 1)
        if messages:
            assert messages == ["Holding out 3 of the 6 labeled documents for validation leaves 3 to "
                                "train on, and 1 of the 2 classes have none among them. Give more "
                                "labels, validation_data, or validation_fraction=None."]
            return
    pytest.fail("no seed held out the one document of class b")


def test_pickling_does_not_touch_the_live_estimator(fitted):
    state = fitted.__getstate__()
    assert state is not fitted.__dict__
    state["module_"] = None  # what __getstate__ does to a network on a GPU
    assert fitted.module_ is not None


@CUDA
def test_pickling_a_cuda_fit_keeps_its_network_on_the_gpu(corpus):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(device="cuda").fit(X, y, X_unlabeled=X_u)
    module = clf.module_
    restored = pickle.loads(pickle.dumps(clf))
    assert clf.module_ is module and next(module.parameters()).is_cuda
    np.testing.assert_allclose(restored.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-5)


def test_a_one_column_dataframe_is_read_as_its_column(corpus):
    pd = pytest.importorskip("pandas")
    X, y, X_u, X_test, _ = corpus
    from_list = tiny_ssvae().fit(X, y, X_unlabeled=X_u)
    from_frame = tiny_ssvae().fit(pd.DataFrame({"text": X}), pd.Series(y),
                                  X_unlabeled=pd.DataFrame({"text": X_u}))
    assert from_frame.n_labeled_ == from_list.n_labeled_
    predicted = from_frame.predict(pd.DataFrame({"text": X_test}))
    assert predicted.shape == (len(X_test),)
    np.testing.assert_array_equal(predicted, from_list.predict(X_test))
    np.testing.assert_array_equal(from_list.predict(pd.Series(X_test)), predicted)
    with pytest.raises(ValueError, match=r"one column of documents; got a DataFrame of shape \(30, 2\)"):
        from_list.predict(pd.DataFrame({"text": X_test, "other": X_test}))


def test_arrays_of_one_column_are_read_and_wider_ones_refused(corpus, fitted):
    X, y, X_u, X_test, _ = corpus
    column = np.asarray(X_test, dtype=object).reshape(-1, 1)
    np.testing.assert_array_equal(fitted.predict(column), fitted.predict(X_test))
    with pytest.raises(ValueError, match=r"shape \(30, 2\)"):
        fitted.predict(np.hstack([column, column]))
    with pytest.raises(ValueError, match="one column"):
        tiny_ssvae().fit(np.array([X, X]), y)


@pytest.mark.parametrize("container", [list, lambda v: np.asarray(v, dtype=object), np.asarray])
def test_the_string_minus_one_marks_unlabeled_rows(corpus, container):
    X, y, _, _, _ = corpus
    y = [str(label) for label in y[:40]] + ["-1"] * 20  # e.g. read from a CSV
    clf = tiny_supervised().fit(X, container(y))
    assert "-1" not in clf.classes_.tolist() and len(clf.classes_) == 3
    assert clf.n_labeled_ + int(np.ceil(0.1 * 40)) == 40
    ssvae = tiny_ssvae().fit(X, container(y))
    assert ssvae.n_unlabeled_ == 20
    folds = list(SemiSupervisedKFold(n_splits=2).split(X, container(y)))
    assert all(set(range(40, 60)) <= set(train) and max(test) < 40 for train, test in folds)


def test_cross_validation_with_semi_supervised_folds_scores_labeled_rows_only(corpus):
    X, y, X_u, _, _ = corpus
    X_all, y_all = list(X) + list(X_u), list(y) + [-1] * len(X_u)
    scores = cross_val_score(tiny_supervised(), X_all, y_all, cv=SemiSupervisedKFold(n_splits=2),
                             scoring="f1_macro")
    # With -1 rows in a test fold, f1_macro would count "-1" as a fourth, never-predicted class.
    assert len(scores) == 2 and np.all(scores > 0)
    for train, test in SemiSupervisedKFold(n_splits=2).split(X_all, y_all):
        assert -1 not in [y_all[i] for i in test]


def test_a_wrong_keyword_names_the_supervised_class():
    with pytest.raises(TypeError, match=r"SupervisedTextClassifier\.__init__\(\) got an unexpected keyword argument 'alpha'"):
        SupervisedTextClassifier(alpha=1)


def test_documents_without_a_single_word_are_refused():
    with pytest.raises(ValueError, match="contain no word"):
        tiny_supervised().fit(["", "  ", "\n", "\t"], [0, 1, 0, 1])


@pytest.mark.parametrize("device", [torch.device("cpu"), "cpu:0"])
def test_torch_device_objects_and_strings_are_accepted(corpus, device):
    X, y, _, X_test, _ = corpus
    clf = tiny_supervised(device=device).fit(X, y)
    assert torch.device(clf.device_).type == "cpu"
    assert next(clf.module_.parameters()).device.type == "cpu"
    assert clf.predict(X_test).shape == (len(X_test),)


def test_unknown_or_absent_devices_are_named(corpus):
    X, y, _, _, _ = corpus
    with pytest.raises(InvalidParameterError, match="'device' parameter .* Got 'gpu0'"):
        tiny_supervised(device="gpu0").fit(X, y)
    with pytest.raises(ValueError, match=r"device='cuda:7'"):
        tiny_supervised(device="cuda:7").fit(X, y)


_TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(
    ["", "   ", "\n\t", "héllo wörld ✓ 文字", "good film", "bad film", "word " * 3000]))


_NOT_TEXTS = st.one_of(st.none(), st.just(float("nan")), st.binary(max_size=6), st.integers(), st.floats())


_DOCUMENT_LISTS = st.one_of(st.lists(_TEXTS, max_size=12), st.lists(_TEXTS, max_size=12),
                            st.lists(st.one_of(_TEXTS, _NOT_TEXTS), max_size=12))


_LABEL_SETS = st.sampled_from([[0, 1, -1], [1, 2, "-1"], ["a", "b", "-1"], ["a", "b", -1],
                               [0, 1, "a", -1], [0.5, 1.0, -1], [True, False]])


# Every refusal of these documents and labels that fit may give: the package's own messages,
# and scikit-learn's for labels that are not classes (e.g. 0.5 and 1.0).
_REFUSALS = [
    r"y has no labeled row: every label is -1 \(the unlabeled marker\)\.$",
    r"y mixes labels of several kinds \((number, str|bool, number)\); use one\.$",
    r"y has 1 class among its labeled rows; at least 2 are needed\.$",
    r"The documents given to fit contain no word \(every one is empty or white space\)",
    r"validation_fraction=0\.1 leaves no training or no validation document out of 1 labeled ones\.$",
    r"Unknown label type: ",
]


def _wrap(values, container, column=False):
    if container == "list":
        return list(values)
    if container == "array":
        return np.array(values, dtype=object)
    pd = pytest.importorskip("pandas")
    if container == "frame" and column:
        return pd.DataFrame({"text": pd.Series(values, dtype=object)})
    return pd.Series(values, dtype=object)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), container=st.sampled_from(["list", "array", "series", "frame"]),
       make=st.sampled_from([tiny_supervised, tiny_ssvae]))
def test_any_input_fits_correctly_or_is_refused_by_name(data, container, make):
    documents = data.draw(_DOCUMENT_LISTS, label="documents")
    label_set = data.draw(_LABEL_SETS, label="label set")
    labels = data.draw(st.lists(st.sampled_from(label_set), min_size=len(documents),
                                max_size=len(documents)), label="labels")
    X, y = _wrap(documents, container, column=True), _wrap(labels, container)
    clf = make(max_updates=2, validation_interval=1, n_threads=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
    except (TypeError, ValueError) as error:
        event(f"refused: {type(error).__name__}")
        message = str(error)
        if not all(isinstance(d, str) for d in documents):
            assert isinstance(error, TypeError) and "must contain only str" in message
        else:
            assert any(re.match(refusal, message) for refusal in _REFUSALS), message
        return
    event("fitted")
    # A fit that succeeds has read every document as text and every label as given.
    assert all(isinstance(d, str) for d in documents)
    labeled = [v for v in labels if not (v == -1 or v == "-1")]
    assert sorted(map(str, clf.classes_.tolist())) == sorted(map(str, set(labeled)))
    assert {type(v) for v in clf.classes_.tolist()} <= {int, float, str}
    predicted = clf.predict(X)
    assert len(predicted) == len(documents) and set(predicted.tolist()) <= set(clf.classes_.tolist())


def test_bow_weight_0_fits_and_predicts_as_the_papers_model(corpus):
    """predict_proba of a default fit before the bag-of-words term existed (torch 2.13, CPU)."""
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae().fit(X, y, X_unlabeled=X_u)
    assert clf.module_.p_bag is None and clf.history_[0]["bag_of_words"] is None
    expected = [[0.3676332167186049, 0.29648757363640654, 0.3358792096449887],
                [0.37093784377051625, 0.30608092928786124, 0.32298122694162246],
                [0.31270590991633196, 0.3178176586244912, 0.3694764314591768]]
    np.testing.assert_allclose(clf.predict_proba(X_test[:3]), expected, rtol=1e-5)
    with_bow = tiny_ssvae(bow_weight=0.5).fit(X, y, X_unlabeled=X_u)
    assert with_bow.module_.p_bag is not None and with_bow.history_[0]["bag_of_words"] > 0


# -- cross-fitted selection ---------------------------------------------------------------------

def test_validation_folds_hold_out_every_labeled_document_exactly_once(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    X_all, y_all = list(X) + list(X_u[:5]), list(y) + [-1] * 5  # unlabeled rows are not folded
    calls = record_train(monkeypatch)
    clf = tiny_ssvae(validation_folds=3).fit(X_all, y_all, X_unlabeled=X_u[5:])
    held_out = [fold["validation_rows"] for fold in clf.folds_]
    assert len(calls) == 3 and sorted(np.concatenate(held_out).tolist()) == list(range(len(X)))
    encoded = clf._encode(X)
    for rows, call in zip(held_out, calls):
        trained = np.setdiff1d(np.arange(len(X)), rows)
        assert [list(ids) for ids in call["ids_val"]] == [list(encoded[i]) for i in rows]
        assert sorted(map(tuple, call["ids_train"])) == sorted(tuple(encoded[i]) for i in trained)
        assert len(call["ids_unlabeled"]) == len(X_u)
    per_class = np.array([[np.sum(np.asarray(y)[rows] == c) for c in clf.classes_] for rows in held_out])
    assert (per_class.max(0) - per_class.min(0) <= 1).all()  # stratified
    assert clf.n_updates_ == sum(fold["n_updates"] for fold in clf.folds_) == 3 * 4
    assert [record["fold"] for record in clf.history_] == [0, 0, 1, 1, 2, 2]


def test_validation_folds_predict_the_mean_of_the_folds_probabilities(corpus):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(validation_folds=2).fit(X, y, X_unlabeled=X_u)
    networks = list(clf.module_.folds)
    assert len(networks) == 2 and not torch.equal(networks[0].q_y.linear.weight, networks[1].q_y.linear.weight)
    ids = clf._encode(X_test)
    per_fold = [np.exp(training.log_probabilities(training.predict_logits(n, ids, 3))) for n in networks]
    np.testing.assert_allclose(clf.predict_proba(X_test), np.mean(per_fold, axis=0), rtol=1e-5)
    # the score is that of each kept network on its own fold, pooled over every label
    folds = clf.folds_
    pooled = sum(f["best_validation_score"] * len(f["validation_rows"]) for f in folds) / len(X)
    assert clf.best_validation_score_ == pytest.approx(pooled)
    assert clf.best_iteration_ == [f["best_iteration"] for f in folds]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))


def test_validation_folds_give_way_to_validation_data_and_refuse_a_warm_start(corpus):
    X, y, X_u, X_test, y_test = corpus
    clf = tiny_supervised(validation_folds=3).fit(X, y, validation_data=(X_test, y_test))
    assert not hasattr(clf, "folds_") and clf.n_labeled_ == len(X)
    with pytest.raises(ValueError, match="warm_start does not continue a cross-fitted fit"):
        tiny_supervised(validation_folds=3, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="validation_folds=7 is more than the 6 labeled"):
        tiny_supervised(validation_folds=7).fit(X[:6], y[:6])


@pytest.mark.parametrize("make", [tiny_ssvae, tiny_supervised])
def test_mixed_precision_trains_in_float32_with_a_warning_where_bfloat16_cannot_run(make, corpus, monkeypatch):
    X, y, X_u, X_test, _ = corpus
    monkeypatch.setattr(estimator_module, "bfloat16_autocast_works", lambda device: False)
    with pytest.warns(UserWarning, match=r"mixed_precision=True, but 'cpu' cannot run an LSTM under "
                                         r"bfloat16 autocast .*training in float32 instead"):
        mixed = make(mixed_precision=True).fit(X, y, X_unlabeled=X_u)
    plain = make().fit(X, y, X_unlabeled=X_u)
    assert mixed.mixed_precision_ is False and plain.mixed_precision_ is False
    np.testing.assert_array_equal(mixed.predict_proba(X_test), plain.predict_proba(X_test))

