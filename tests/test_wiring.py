"""Every hyperparameter reaches the computation it names, and every piece of the training loop
does what it says: each test here fails when one wire is cut (tests/mutants.py cuts them)."""

import inspect
import warnings

import numpy as np
import pytest
import torch

import sslvae_text.estimator as estimator_module
from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
import sslvae_text.objective as objective
import sslvae_text.training as training
from sslvae_text.model import PXGivenYZ, QZGivenX, SentenceEncoder
from sslvae_text import objective
from sslvae_text.model import SSVAE
from sslvae_text.objective import kl_weight
from sslvae_text.text import pad_batch

from conftest import ssvae_loss, tiny_network, tiny_ssvae, tiny_supervised


def _record_train(monkeypatch, *, stop=False):
    """Wrap the estimator's call of training.train; keep its keyword arguments."""
    calls = []
    real = estimator_module.train

    def recording(module, loss_fn, data, settings, state):
        calls.append(dict(vars(data), settings=settings))
        if stop:
            raise _Stop
        return real(module, loss_fn, data, settings, state)

    monkeypatch.setattr(estimator_module, "train", recording)
    return calls


class _Stop(Exception):
    pass


def _record_updates(monkeypatch):
    """Wrap training.update; keep the labeled and unlabeled sequences of every update."""
    batches = []
    real = training.update

    def recording(module, optimizer, loss_fn, labeled, unlabeled, **kwargs):
        batches.append(([tuple(s) for s in labeled[0]], [tuple(s) for s in unlabeled]))
        return real(module, optimizer, loss_fn, labeled, unlabeled, **kwargs)

    monkeypatch.setattr(training, "update", recording)
    return batches


# -- the unlabeled documents, the validation split ---------------------------------------------

def test_every_update_trains_on_a_batch_of_unlabeled_documents(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    batches = _record_updates(monkeypatch)
    clf = tiny_ssvae(use_kl=True, batch_size=8).fit(X, y, X_unlabeled=X_u)
    assert len(batches) == clf.n_updates_ == 4
    assert all(len(unlabeled) == 8 for _, unlabeled in batches)
    # and the ELBo of unlabeled documents is in the objective: kl_y exists only for them
    assert all(check["kl_y"] is not None for check in clf.history_)


def test_validation_documents_are_held_out_of_training_and_stratified(monkeypatch):
    # 3 classes x 40 documents, each its own words, all of them in the unlabeled document so
    # that the vocabulary has them: word ids identify documents
    X = [f"w{i} w{i + 1000} w{i + 2000}" for i in range(120)]
    X_u = [" ".join(X)]
    y = np.repeat(["a", "b", "c"], 40)
    for seed in (0, 1, 2):
        calls = _record_train(monkeypatch, stop=True)
        with pytest.raises(_Stop):
            tiny_ssvae(validation_fraction=0.25, random_state=seed).fit(X, y, X_unlabeled=X_u)
        kwargs = calls[0]
        train_docs = {tuple(ids) for ids in kwargs["ids_train"]}
        val_docs = {tuple(ids) for ids in kwargs["ids_val"]}
        assert len(val_docs) == 30 and len(train_docs) == 90 and not train_docs & val_docs
        assert np.bincount(kwargs["y_val"]).tolist() == [10, 10, 10]


def test_training_batches_never_hold_a_validation_document(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    batches = _record_updates(monkeypatch)
    calls = _record_train(monkeypatch)
    tiny_ssvae(max_updates=12).fit(X, y, X_unlabeled=X_u)
    val_docs = {tuple(ids) for ids in calls[0]["ids_val"]}
    train_docs = {tuple(ids) for ids in calls[0]["ids_train"]}
    trained = {doc for labeled, _ in batches for doc in labeled}
    assert trained <= train_docs and not trained & (val_docs - train_docs)


def test_max_length_truncates_the_training_documents_too(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    calls = _record_train(monkeypatch, stop=True)
    with pytest.raises(_Stop):
        tiny_ssvae(max_length=3).fit(X, y, X_unlabeled=X_u)
    for name in ("ids_train", "ids_unlabeled", "ids_val"):
        assert max(len(ids) for ids in calls[0][name]) == 3


# -- hyperparameters on their way to the objective and the network ------------------------------

@pytest.mark.parametrize("options", [
    dict(alpha=3.5, temperature=0.25, unlabeled_y="enumerate", z_gradient="analytic"),
    dict(alpha=0.0, temperature=2.0, unlabeled_y="gumbel", z_gradient="stl"),
])
def test_objective_hyperparameters_reach_the_loss(corpus, monkeypatch, options):
    X, y, X_u, _, _ = corpus
    seen = []
    real = objective.ssvae_loss
    monkeypatch.setattr(objective, "ssvae_loss", lambda *a, **k: seen.append(k) or real(*a, **k))
    tiny_ssvae(use_kl=True, **options).fit(X, y, X_unlabeled=X_u)
    assert seen and all({k: s[k] for k in options} == options for s in seen)
    assert all(s["use_kl"] is True for s in seen)


def test_without_kl_the_history_shows_no_kl_weight_and_no_kl_term(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(use_kl=False, kl_warmup=0, kl_ramp=0).fit(X, y, X_unlabeled=X_u)
    assert [c["kl_weight"] for c in clf.history_] == [0.0] * len(clf.history_)
    assert all(c["kl_z"] is None and c["kl_y"] is None for c in clf.history_)


def test_the_kl_weight_follows_the_update_count(corpus):
    X, y, X_u, _, _ = corpus
    # kl_ramp=5, not the 4 that "auto" gives here (2 x validation_interval)
    clf = tiny_ssvae(use_kl=True, kl_warmup=3, kl_ramp=5, validation_interval=2,
                     max_updates=10).fit(X, y, X_unlabeled=X_u)
    expected = [np.mean([kl_weight(s, warmup=3, ramp=5) for s in range(c["updates"] - 2, c["updates"])])
                for c in clf.history_]
    np.testing.assert_allclose([c["kl_weight"] for c in clf.history_], expected)
    assert expected[0] == 0 and expected[-1] == 1  # 0 during the warm-up, 1 after the ramp


def test_dropout_reaches_every_dropout_layer(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(dropout=0.3).fit(X, y, X_unlabeled=X_u)
    layers = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(layers) == 3  # y's encoder, z's encoder, the decoder's input
    assert all(layer.p == 0.3 for layer in layers)


# -- the network: sampling, dropout, the parameterisation of q(z|x) ------------------------------

def _decoder_inputs(model, labels, seed, **loss_options):
    """The y and z the decoder received in one ssvae_loss, and the loss."""
    seen = {}

    def hook(module, args):
        seen["y"], seen["z"] = args[3].detach(), None if args[4] is None else args[4]

    handle = model.p_x.register_forward_pre_hook(hook)
    tokens, lengths = pad_batch([np.array([2, 5, 7, 9]), np.array([3, 4]), np.array([8, 6, 5])])
    torch.manual_seed(seed)
    options = dict(alpha=1.0, beta=1.0, use_kl=False, temperature=1.0)
    loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor(labels), **{**options, **loss_options})
    handle.remove()
    return seen["y"], seen["z"], loss


def test_unlabeled_y_is_a_soft_sample_whose_sharpness_is_the_temperature():
    model = tiny_network().eval()
    y_warm, _, _ = _decoder_inputs(model, [-1, -1, -1], seed=0, temperature=1.0)
    assert torch.all((y_warm > 0) & (y_warm < 0.999))  # soft, not straight-through one-hot
    y_cold, _, _ = _decoder_inputs(model, [-1, -1, -1], seed=0, temperature=0.01)
    y_hot, _, _ = _decoder_inputs(model, [-1, -1, -1], seed=0, temperature=100.0)
    assert y_cold.max(-1).values.min() > 0.99
    assert (y_hot.max(-1).values - y_hot.min(-1).values).max() < 0.05


def test_z_is_a_reparameterised_sample_that_trains_q_z():
    model = tiny_network().eval()
    _, z_a, loss = _decoder_inputs(model, [0, 1, 2], seed=0, alpha=0.0)
    _, z_b, _ = _decoder_inputs(model, [0, 1, 2], seed=1, alpha=0.0)
    assert not torch.allclose(z_a, z_b)  # sampled, not the mean
    loss.backward()  # reconstruction only: no KL, alpha = 0
    assert model.q_z.loc.weight.grad.abs().sum() > 0
    assert model.q_z.scale.weight.grad.abs().sum() > 0


def test_q_z_scale_is_a_softplus():
    q = QZGivenX(2, 3)
    with torch.no_grad():
        q.scale.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        q.scale.bias.zero_()
    h = torch.tensor([[-2.0, 0.5]])
    expected = torch.nn.functional.softplus(torch.tensor([[-2.0, 0.5, -1.5]])) + 1e-6
    torch.testing.assert_close(q(h).scale, expected)


@pytest.mark.parametrize("part", ["encoder", "decoder"])
def test_dropout_is_active_in_training_and_off_in_prediction(part):
    torch.manual_seed(0)
    tokens, lengths = pad_batch([np.array([2, 5, 7, 9, 4, 3]), np.array([3, 4, 8])])
    embedded = torch.randn(2, 6, 8)
    if part == "encoder":
        module = SentenceEncoder(8, 5, dropout=0.5)
        run = lambda: module(embedded, lengths)  # noqa: E731
    else:
        module = PXGivenYZ(embedding_dim=8, vocabulary_size=12, n_classes=2, y_dim=3, z_dim=0,
                           hidden_size=6, dropout=0.5, output_layer="full", cutoffs=None, div_value=4.0)
        y = torch.eye(2)
        run = lambda: module(embedded, tokens, lengths, y)  # noqa: E731
    module.train()
    assert not torch.allclose(run(), run())
    module.eval()
    torch.testing.assert_close(run(), run())


# -- the best check's weights -------------------------------------------------------------------

def test_the_kept_weights_are_those_of_the_best_check(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    scripted = iter([(0.5, 1.0), (0.9, 0.5), (0.6, 0.8), (0.7, 0.7)])
    snapshots = []
    real_logits = training.predict_logits

    def logits_and_snapshot(module, ids, n_classes):
        snapshots.append({k: v.clone() for k, v in module.state_dict().items()})
        return real_logits(module, ids, n_classes)

    monkeypatch.setattr(training, "predict_logits", logits_and_snapshot)
    monkeypatch.setattr(training, "validation_scores", lambda logits, y: next(scripted))
    clf = tiny_ssvae(max_updates=8, n_iter_no_change=10).fit(X, y, X_unlabeled=X_u)
    assert clf.best_iteration_ == 2 and clf.best_validation_score_ == 0.9
    kept = clf.module_.state_dict()
    for name, value in snapshots[1].items():
        torch.testing.assert_close(kept[name], value)
    assert any(not torch.equal(kept[name], value) for name, value in snapshots[-1].items())


# -- terms and precision ------------------------------------------------------------------------

def test_the_supervised_baseline_records_its_loss_at_every_check(corpus):
    X, y, _, _, _ = corpus
    clf = tiny_supervised().fit(X, y)
    assert set(clf.history_[0]) >= {"supervised_loss", "valid_accuracy"}
    assert all(isinstance(check["supervised_loss"], float) for check in clf.history_)


def test_the_stl_gradient_of_a_document_reaches_only_its_own_q_z():
    loc = torch.full((2, 3), 0.5, requires_grad=True)  # away from the prior, where the gradient is 0
    scale = torch.full((2, 3), 2.0, requires_grad=True)
    q = torch.distributions.Normal(loc, scale)
    z = q.rsample()
    objective.stl_kl_to_standard_normal(q, z)[0].backward()
    assert loc.grad[0].abs().sum() > 0 and loc.grad[1].abs().sum() == 0


@pytest.mark.parametrize("unlabeled_y", ["gumbel", "enumerate"])
def test_the_objective_keeps_the_networks_precision(unlabeled_y):
    model = tiny_network().double()
    _, _, loss = _decoder_inputs(model, [0, -1, -1], seed=0, unlabeled_y=unlabeled_y, use_kl=True)
    assert loss.dtype == torch.float64


def test_the_defaults_are_the_documented_settings():
    # The paper's sizes and optimisation (docs/objectives.md), and this package's schedule.
    shared = dict(embedding_dim="auto", hidden_size=100, dropout=0.5, vocabulary_size=10000,
                  max_length=400, embeddings=None, freeze_embeddings=False, batch_size=32,
                  learning_rate=4e-3, mixed_precision=False, validation_interval="auto",
                  lr_patience=4, n_iter_no_change=8, max_updates=20000, validation_fraction=0.1,
                  random_state=None, device="auto", n_threads=None, warm_start=False, verbose=0)
    ssvae = dict(shared, alpha=1000.0, use_kl=True, use_z=True, z_dim=32, y_dim=32,
                 decoder_size=300, shared_encoder=False, output_layer="adaptive",
                 unlabeled_y="gumbel", temperature=1.0, z_gradient="stl", kl_warmup="auto",
                 kl_ramp="auto")
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


# -- threads and interruptions ------------------------------------------------------------------

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


def test_an_interrupted_fit_leaves_a_fitted_estimator_and_propagates(corpus, monkeypatch):
    X, y, X_u, X_test, _ = corpus
    calls = []
    real = training.update

    def interrupt_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "update", interrupt_on_the_third)
    clf = tiny_ssvae(max_updates=8)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y, X_unlabeled=X_u)
    assert clf.termination_condition_ == "interrupted" and clf.n_updates_ == 2
    assert len(clf.history_) == 1 and len(clf.predict(X_test)) == len(X_test)


def _validation_labels(monkeypatch, y, fraction, seed):
    calls = _record_train(monkeypatch, stop=True)
    X = [f"document {i}" for i in range(len(y))]
    with pytest.raises(_Stop):
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
