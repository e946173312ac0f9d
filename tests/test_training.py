"""The training loop: learning, early stopping, progress, options, embeddings."""

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec

from conftest import tiny_ssvae, tiny_supervised
from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.datasets import make_text_classification
from sslvae_text.estimator import _BaseTextClassifier


@pytest.fixture(scope="module")
def four_classes():
    X, y = make_text_classification(1000, n_classes=4, vocabulary_size=400, n_informative=30,
                                    informative_fraction=0.5, mean_length=15, random_state=1)
    return X[:300], y[:300], X[300:600], X[600:], y[600:]


@pytest.mark.parametrize("make", [
    lambda: SupervisedTextClassifier(embedding_dim=32, hidden_size=32, random_state=0),
    lambda: SSVAETextClassifier(use_kl=False, use_z=False, embedding_dim=32, hidden_size=32,
                                decoder_size=32, random_state=0),
    lambda: SSVAETextClassifier(embedding_dim=32, hidden_size=32, decoder_size=32, z_dim=8,
                                kl_warmup=20, kl_ramp=40, random_state=0),
], ids=["supervised", "ssvae-kl-z", "ssvae"])
def test_learns_a_generated_corpus_well_above_chance(four_classes, make):
    X, y, X_u, X_test, y_test = four_classes
    clf = make().set_params(n_iter_no_change=4, lr_patience=2, max_epochs=25)
    clf.fit(X, y, X_unlabeled=X_u)
    assert clf.score(X_test, y_test) > 0.8  # chance is 0.25
    assert clf.termination_condition_ == "no_change"


def test_learning_rate_cut_and_early_stop_follow_the_paper(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    # A validation accuracy that never improves after the first epoch.
    monkeypatch.setattr(_BaseTextClassifier, "_logits",
                        lambda self, ids: np.tile([1.0, 0.0, 0.0], (len(ids), 1)))
    clf = tiny_ssvae(max_epochs=50, lr_patience=4, n_iter_no_change=8, learning_rate=0.004)
    clf.fit(X, y, X_unlabeled=X_u)
    rates = [h["learning_rate"] for h in clf.history_]
    assert clf.n_iter_ == 9 and clf.best_epoch_ == 1 and clf.termination_condition_ == "no_change"
    assert rates[:5] == [0.004] * 5 and rates[5] == pytest.approx(0.001)
    assert rates[5:] == pytest.approx([0.001] * 4)  # the counter restarts after a cut


def test_no_validation_trains_max_epochs_and_keeps_the_last_weights(corpus):
    X, y, _, _, _ = corpus
    clf = tiny_supervised(validation_fraction=None, max_epochs=3).fit(X, y)
    assert clf.n_iter_ == clf.best_epoch_ == 3 and clf.best_validation_score_ is None
    assert clf.n_labeled_ == len(X) and clf.history_[-1]["valid_accuracy"] is None


def test_kl_annealing_and_flags_show_in_the_history(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(kl_warmup=1, kl_ramp=4, max_epochs=3).fit(X, y, X_unlabeled=X_u)
    weights = [h["kl_weight"] for h in clf.history_]
    assert weights[0] < weights[-1] <= 1 and clf.history_[-1]["kl_z"] > 0
    no_kl = tiny_ssvae(use_kl=False, use_z=False).fit(X, y, X_unlabeled=X_u)
    assert all(h["kl_z"] is None and h["kl_y"] is None and h["kl_weight"] == 0 for h in no_kl.history_)
    assert no_kl.module_.q_z is None


def test_adaptive_softmax_is_the_default_and_full_the_papers(corpus):
    X, y, X_u, _, _ = corpus
    assert SSVAETextClassifier().output_layer == "adaptive"
    default = tiny_ssvae(max_epochs=1, decoder_size=16).fit(X, y, X_unlabeled=X_u)
    assert isinstance(default.module_.p_x.output, torch.nn.AdaptiveLogSoftmaxWithLoss)
    assert default.module_.p_x.output.cutoffs[:-1] == [len(default.vocabulary_) // 10,
                                                      2 * len(default.vocabulary_) // 5]
    paper = tiny_ssvae(max_epochs=1, output_layer="full").fit(X, y, X_unlabeled=X_u)
    assert isinstance(paper.module_.p_x.output, torch.nn.Linear)


@pytest.mark.parametrize("options", [{"unlabeled_y": "enumerate"}, {"output_layer": "full"},
                                     {"output_layer": "adaptive", "decoder_size": 16, "mixed_precision": True},
                                     {"z_gradient": "analytic"}, {"max_length": 3}])
def test_options_train_a_usable_model(corpus, options):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(**options).fit(X, y, X_unlabeled=X_u)
    assert np.isfinite(clf.history_[-1]["reconstruction"])
    assert clf.predict(X_test).shape == (len(X_test),)


def test_predict_never_runs_the_decoder(fitted, corpus, monkeypatch):
    monkeypatch.setattr(type(fitted.module_.p_x), "forward",
                        lambda *a: pytest.fail("the decoder ran at prediction time"))
    assert fitted.predict(corpus[3]).shape == (len(corpus[3]),)


def test_verbose_shows_progress_and_silent_by_default(corpus, capsys):
    X, y, _, _, _ = corpus
    tiny_ssvae().fit(X, y)
    assert capsys.readouterr() == ("", "")
    tiny_ssvae(verbose=1).fit(X, y, X_unlabeled=[])
    out, err = capsys.readouterr()
    printed = out + err
    assert "no unlabeled documents" in printed
    assert "epoch 1:" in printed and "epoch 2:" in printed and "valid_accuracy=" in printed


def test_pretrained_embeddings_fill_the_embedding_rows_and_can_be_frozen(corpus, tmp_path):
    X, y, X_u, _, _ = corpus
    sentences = [x.split() for x in X + X_u]
    vectors = Word2Vec(sentences, vector_size=8, min_count=1, seed=0, workers=1, epochs=1).wv
    path = tmp_path / "vectors.vec"
    vectors.save_word2vec_format(str(path))
    clf = tiny_ssvae(embeddings=str(path), freeze_embeddings=True).fit(X, y, X_unlabeled=X_u)
    table = clf.module_.embedding.weight.detach().numpy()
    words = [w for w in clf.vocabulary_.itos if w in vectors.key_to_index]
    assert len(words) > 50
    for word in words:
        np.testing.assert_allclose(table[clf.vocabulary_.stoi[word]], vectors[word], rtol=1e-6)
    tuned = tiny_ssvae(embeddings=str(path)).fit(X, y, X_unlabeled=X_u)
    row = tuned.vocabulary_.stoi[words[0]]
    assert not np.allclose(tuned.module_.embedding.weight[row].detach().numpy(), vectors[words[0]])


def test_mixed_precision_runs_the_decoder_in_bfloat16(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(output_layer="adaptive", decoder_size=16, mixed_precision=True, max_epochs=1)
    dtypes = set()
    original = torch.nn.LSTM.forward

    def recording(self, *args, **kwargs):
        output = original(self, *args, **kwargs)
        dtypes.add(output[0].dtype)
        return output

    torch.nn.LSTM.forward = recording
    try:
        clf.fit(X, y, X_unlabeled=X_u)
    finally:
        torch.nn.LSTM.forward = original
    assert torch.bfloat16 in dtypes
    assert clf.predict_proba(X[:3]).dtype == np.float64


def test_use_z_builds_the_papers_two_encoders_unless_shared(corpus):
    X, y, X_u, _, _ = corpus
    paper = tiny_ssvae(max_epochs=1).fit(X, y, X_unlabeled=X_u)
    assert paper.module_.z_encoder is not None
    y_params = {id(p) for p in paper.module_.encoder.parameters()}
    assert y_params.isdisjoint(id(p) for p in paper.module_.z_encoder.parameters())
    shared = tiny_ssvae(max_epochs=1, shared_encoder=True).fit(X, y, X_unlabeled=X_u)
    assert shared.module_.z_encoder is None and shared.module_.q_z is not None
    no_z = tiny_ssvae(max_epochs=1, use_z=False).fit(X, y, X_unlabeled=X_u)
    assert no_z.module_.z_encoder is None
