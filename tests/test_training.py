"""The training loop: learning, early stopping, progress, options, embeddings."""

import os
import pickle
import platform
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, log_loss

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier, recipe, training
from sslvae_text.datasets import make_text_classification
from sslvae_text.model import SSVAE, make_optimizer
from sslvae_text.objective import kl_weight, ssvae_objective
from sslvae_text.text import PAD_ID, SPECIALS, pad_batch
from sslvae_text.training import update_pieces

from conftest import record_updates, ssvae_loss, tiny_network, tiny_ssvae, tiny_supervised

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


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
@pytest.mark.slow
def test_learns_a_generated_corpus_well_above_chance(four_classes, make):
    X, y, X_u, X_test, y_test = four_classes
    clf = make().set_params(n_iter_no_change=4, lr_patience=2, validation_interval="epoch",
                            max_updates=450)
    clf.fit(X, y, X_unlabeled=X_u)
    assert clf.score(X_test, y_test) > 0.8  # chance is 0.25
    assert clf.termination_condition_ == "no_change"


def test_learning_rate_cut_and_early_stop_follow_the_paper(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    # A validation score that never improves after the first check.
    monkeypatch.setattr(training, "predict_logits",
                        lambda module, ids, n_classes: np.tile([1.0, 0.0, 0.0], (len(ids), 1)))
    clf = tiny_ssvae(max_updates=100, lr_patience=4, n_iter_no_change=8, learning_rate=0.004)
    clf.fit(X, y, X_unlabeled=X_u)
    rates = [h["learning_rate"] for h in clf.history_]
    assert clf.n_iter_ == 9 and clf.best_iteration_ == 1 and clf.termination_condition_ == "no_change"
    assert rates[:5] == [0.004] * 5 and rates[5] == pytest.approx(0.001)
    assert rates[5:] == pytest.approx([0.001] * 4)  # the counter restarts after a cut


def _snapshot_every_update(monkeypatch):
    """Wrap training.update; keep the weights after every update."""
    snapshots = []
    real = training.update

    def update_and_snapshot(module, *args, **kwargs):
        terms = real(module, *args, **kwargs)
        snapshots.append({k: v.clone() for k, v in module.state_dict().items()})
        return terms

    monkeypatch.setattr(training, "update", update_and_snapshot)
    return snapshots


def test_no_validation_trains_max_updates_and_keeps_the_last_weights(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    after_each_update = _snapshot_every_update(monkeypatch)
    clf = tiny_supervised(validation_fraction=None, max_updates=6).fit(X, y)
    assert clf.n_iter_ == clf.best_iteration_ == 3 and clf.best_validation_score_ is None
    assert clf.n_updates_ == 6 and clf.termination_condition_ == "max_updates"
    assert clf.n_labeled_ == len(X) and clf.history_[-1]["valid_accuracy"] is None
    assert len(after_each_update) == 6
    for name, value in clf.module_.state_dict().items():
        torch.testing.assert_close(value, after_each_update[-1][name])
    assert any(not torch.equal(v, after_each_update[-2][k]) for k, v in clf.module_.state_dict().items())


def test_kl_annealing_and_flags_show_in_the_history(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(kl_warmup=1, kl_ramp=4, max_updates=6).fit(X, y, X_unlabeled=X_u)
    weights = [h["kl_weight"] for h in clf.history_]
    assert weights[0] < weights[-1] <= 1 and clf.history_[-1]["kl_z"] > 0
    no_kl = tiny_ssvae(use_kl=False, use_z=False).fit(X, y, X_unlabeled=X_u)
    assert all(h["kl_z"] is None and h["kl_y"] is None and h["kl_weight"] == 0 for h in no_kl.history_)
    assert no_kl.module_.q_z is None


def test_adaptive_softmax_is_the_default_and_full_the_papers(corpus):
    X, y, X_u, _, _ = corpus
    assert SSVAETextClassifier().output_layer == "adaptive"
    default = tiny_ssvae(max_updates=2, decoder_size=16).fit(X, y, X_unlabeled=X_u)
    assert isinstance(default.module_.p_x.output, torch.nn.AdaptiveLogSoftmaxWithLoss)
    assert default.module_.p_x.output.cutoffs[:-1] == [len(default.vocabulary_) // 10,
                                                      2 * len(default.vocabulary_) // 5]
    paper = tiny_ssvae(max_updates=2, output_layer="full").fit(X, y, X_unlabeled=X_u)
    assert isinstance(paper.module_.p_x.output, torch.nn.Linear)


@pytest.mark.parametrize("options", [{"unlabeled_y": "enumerate"}, {"output_layer": "full"},
                                     pytest.param({"output_layer": "adaptive", "decoder_size": 16,
                                                   "mixed_precision": True}, marks=pytest.mark.bfloat16),
                                     {"z_gradient": "analytic"}, {"max_length": 3}])
def test_every_option_trains_to_a_finite_loss_and_predicts(corpus, options):
    # what each option does is tested where it acts (test_wiring, test_model); here, that no
    # combination breaks a fit
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
    assert "check 1:" in printed and "check 2:" in printed and "valid_accuracy=" in printed
    assert "valid_log_loss=" in printed and "updates=4" in printed
    # one line per check: its number, then name=value pairs, without the unset terms
    line = next(line for line in out.splitlines() if line.startswith("check 2: "))
    pairs = line[len("check 2: "):].split(", ")
    assert pairs[0] == "updates=4" and all(re.fullmatch(r"[a-z_]+=\S+", p) for p in pairs)
    assert "iteration" not in line and "None" not in line
    # the bar counts updates out of max_updates and shows the last check's accuracy
    frames = [f.strip() for f in re.split(r"[\r\n]", err) if "updates |" in f]
    last = frames[-1]
    assert last.startswith("4/4 updates |") and re.search(r"check 2, valid \d\.\d{3}$", last)


def test_without_validation_the_bar_shows_the_check_alone(corpus, capsys):
    X, y, _, _, _ = corpus
    tiny_ssvae(verbose=1, validation_fraction=None).fit(X, y)
    frames = [f.strip() for f in re.split(r"[\r\n]", capsys.readouterr().err) if "updates |" in f]
    assert frames[-1].endswith("check 2")


def test_each_check_records_its_duration(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae().fit(X, y, X_unlabeled=X_u)
    assert all(0 < check["seconds"] < 60 for check in clf.history_)


def _partial_vectors(X, tmp_path):
    """A .vec file of vectors for the words of the first 20 documents only."""
    vectors = Word2Vec([x.split() for x in X[:20]], vector_size=8, min_count=1, seed=0, workers=1,
                       epochs=1).wv
    path = tmp_path / "vectors.vec"
    vectors.save_word2vec_format(str(path))
    return vectors, str(path)


def test_frozen_vectors_stay_as_read_and_the_words_they_lack_train(corpus, tmp_path):
    X, y, X_u, _, _ = corpus
    vectors, path = _partial_vectors(X, tmp_path)
    clf = tiny_ssvae(embeddings=path, freeze_embeddings=True).fit(X, y, X_unlabeled=X_u)
    table = clf.module_.embedding.weight.detach().numpy()
    words = [w for w in clf.vocabulary_.itos if w in vectors.key_to_index]
    lacking = [clf.vocabulary_.stoi[w] for w in clf.vocabulary_.itos[len(SPECIALS):]
               if w not in vectors.key_to_index]
    assert len(words) > 50 and len(lacking) > 50
    for word in words:
        np.testing.assert_array_equal(table[clf.vocabulary_.stoi[word]], vectors[word])
    # they start at zero; most have met a batch in 4 updates of 32 + 32 documents
    assert (table[lacking] != 0).any(axis=1).mean() > 0.5
    assert not table[PAD_ID].any()
    # pickled and loaded, the rows stay frozen and the predictions equal
    loaded = pickle.loads(pickle.dumps(clf))
    torch.testing.assert_close(loaded.module_.embedding.frozen_rows, clf.module_.embedding.frozen_rows)
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), clf.predict_proba(X[:5]))


def test_fine_tuned_vectors_move(corpus, tmp_path):
    X, y, X_u, _, _ = corpus
    vectors, path = _partial_vectors(X, tmp_path)
    tuned = tiny_ssvae(embeddings=path).fit(X, y, X_unlabeled=X_u)
    assert tuned.freeze_embeddings is False and tuned.module_.embedding.frozen_rows is None
    rows = [tuned.vocabulary_.stoi[w] for w in vectors.index_to_key if w in tuned.vocabulary_.stoi]
    moved = [not np.allclose(tuned.module_.embedding.weight[r].detach().numpy(),
                             vectors[tuned.vocabulary_.itos[r]]) for r in rows]
    assert np.mean(moved) > 0.5


def test_without_vectors_freezing_keeps_every_random_row(corpus):
    X, y, X_u, _, _ = corpus
    short = tiny_supervised(freeze_embeddings=True, max_updates=1, validation_fraction=None).fit(X, y)
    long = tiny_supervised(freeze_embeddings=True, validation_fraction=None).fit(X, y)
    torch.testing.assert_close(short.module_.embedding.weight, long.module_.embedding.weight)
    tuned = tiny_supervised(validation_fraction=None).fit(X, y)
    assert not torch.equal(tuned.module_.embedding.weight, long.module_.embedding.weight)


def test_embedding_dim_auto_follows_the_vectors(corpus, fake_glove):
    X, y, X_u, _, _ = corpus
    X = [f"the cat {x}" for x in X]
    clf = tiny_ssvae(embedding_dim="auto", embeddings="glove-6b-50d").fit(X, y, X_unlabeled=X_u)
    assert clf.embedding_dim_ == 5 and clf.module_.embedding.embedding_dim == 5
    assert clf.module_.encoder.forward_lstm.input_size == 5
    assert clf.module_.p_x.lstm.input_size == 5 + 4 + 4  # word, y, z
    row = clf.vocabulary_.stoi["cat"]
    assert clf.module_.embedding.weight.shape == (len(clf.vocabulary_), 5) and row > 0
    with pytest.raises(ValueError, match=r"have dimension 5, but embedding_dim=8; set embedding_dim=5 or 'auto'"):
        tiny_ssvae(embedding_dim=8, embeddings="glove-6b-50d").fit(X, y)
    assert tiny_supervised(embedding_dim="auto", max_updates=1).fit(X, y).embedding_dim_ == 300
    assert tiny_supervised(embedding_dim=7, max_updates=1).fit(X, y).embedding_dim_ == 7


@pytest.mark.bfloat16
def test_mixed_precision_runs_the_decoder_in_bfloat16(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(output_layer="adaptive", decoder_size=16, mixed_precision=True, max_updates=2)
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
    assert torch.bfloat16 in dtypes and clf.mixed_precision_ is True
    assert clf.predict_proba(X[:3]).dtype == np.float64


def test_the_bfloat16_probe_says_no_where_the_lstm_kernel_is_missing(monkeypatch):
    original = torch.nn.LSTM.forward

    def like_onednn_without_bfloat16(self, *args, **kwargs):
        if torch.is_autocast_enabled("cpu"):
            raise RuntimeError("could not create a primitive descriptor for the LSTM forward propagation primitive.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.LSTM, "forward", like_onednn_without_bfloat16)
    training._bfloat16_probe.cache_clear()
    try:
        before = torch.random.get_rng_state()
        assert training.bfloat16_autocast_works("cpu") is False
        assert torch.equal(torch.random.get_rng_state(), before)  # the caller's random stream untouched
        monkeypatch.setattr(torch.nn.LSTM, "forward", original)
        assert training.bfloat16_autocast_works(torch.device("cpu")) is False  # asked once per process
    finally:
        training._bfloat16_probe.cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="ONEDNN_MAX_CPU_ISA=AVX2 stands in for an AVX2-only CPU on x86-64 alone")
def test_without_avx512_the_probe_says_no_and_mixed_precision_trains_in_float32():
    # oneDNN capped at AVX2 has no bfloat16 LSTM kernel, as on CPUs with AVX2 alone: a real fit
    # falls back, where it used to raise from inside oneDNN.
    script = textwrap.dedent("""
        import warnings
        import numpy as np
        from sslvae_text import SSVAETextClassifier
        from sslvae_text.datasets import make_text_classification
        from sslvae_text.training import bfloat16_autocast_works
        X, y = make_text_classification(80, n_classes=2, random_state=0)
        tiny = dict(embedding_dim=8, hidden_size=8, z_dim=4, y_dim=4, decoder_size=16, max_updates=2,
                    validation_fraction=None, random_state=0, device="cpu")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mixed = SSVAETextClassifier(mixed_precision=True, **tiny).fit(X[:20], y[:20], X_unlabeled=X[20:60])
        plain = SSVAETextClassifier(**tiny).fit(X[:20], y[:20], X_unlabeled=X[20:60])
        print(bfloat16_autocast_works("cpu"), mixed.mixed_precision_,
              any("float32 instead" in str(w.message) for w in caught),
              np.array_equal(mixed.predict_proba(X[60:]), plain.predict_proba(X[60:])))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True", "True"]


def test_use_z_builds_the_papers_two_encoders_unless_shared(corpus):
    X, y, X_u, _, _ = corpus
    paper = tiny_ssvae(max_updates=2).fit(X, y, X_unlabeled=X_u)
    assert paper.module_.z_encoder is not None
    y_params = {id(p) for p in paper.module_.encoder.parameters()}
    assert y_params.isdisjoint(id(p) for p in paper.module_.z_encoder.parameters())
    shared = tiny_ssvae(max_updates=2, shared_encoder=True).fit(X, y, X_unlabeled=X_u)
    assert shared.module_.z_encoder is None and shared.module_.q_z is not None
    no_z = tiny_ssvae(max_updates=2, use_z=False).fit(X, y, X_unlabeled=X_u)
    assert no_z.module_.z_encoder is None


# -- the schedule: updates, validation checks, cycled labeled batches ------------------------------

def test_validation_interval_settings():
    # "epoch": the batches bucketed_batches makes of the labeled documents (the authors' check)
    assert training.resolve_interval("epoch", 4000, 10000, 32) == 125
    assert training.resolve_interval("epoch", 45, 10000, 32) == 2
    assert training.resolve_interval("epoch", 1700, 0, 32) == 50 + 4  # a bucket of 1,600, then 100 more
    # "auto": a pass over the larger set, at least 100 updates
    assert training.resolve_interval("auto", 4000, 10000, 32) == 313
    assert training.resolve_interval("auto", 10000, 45, 32) == 313
    assert training.resolve_interval("auto", 45, 0, 32) == training.MIN_AUTO_INTERVAL == 100
    assert training.resolve_interval(7, 45, 10000, 32) == 7
    rng = np.random.RandomState(0)
    for n in (1, 31, 45, 1600, 1700, 4000):
        assert len(training.bucketed_batches(np.ones(n, int), 32, rng)) == training.batches_per_pass(n, 32)


def test_checks_come_every_validation_interval_updates(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(validation_interval=3, max_updates=10, n_iter_no_change=100).fit(X, y, X_unlabeled=X_u)
    assert [h["updates"] for h in clf.history_] == [3, 6, 9, 10]
    assert [h["iteration"] for h in clf.history_] == [1, 2, 3, 4]
    assert clf.n_updates_ == 10 and clf.validation_interval_ == 3
    auto = tiny_supervised(validation_interval="auto", max_updates=150).fit(X, y)
    # 54 training documents make 2 batches of 32, yet a check comes every 100 updates
    assert auto.validation_interval_ == 100 and [h["updates"] for h in auto.history_] == [100, 150]
    # with 4,000 unlabeled documents, a check per pass over them
    many = tiny_ssvae(validation_interval="auto", max_updates=1).fit(X, y, X_unlabeled=X_u * 100)
    assert many.validation_interval_ == training.batches_per_pass(4000, 32) == 125


def test_labeled_batches_cycle_through_every_document_each_pass():
    """Few labels: the labeled set is reshuffled and gone through again, every document once a pass."""
    seen = []

    def loss_fn(module, tokens, lengths, labels, step):
        seen.append(sorted(tokens[:, 0].tolist()))  # each document's first word is its number
        return module.classify(tokens, lengths).sum() * 0.0, {}

    from sslvae_text.model import SSVAE
    module = SSVAE(vocabulary_size=20, n_classes=2, embedding_dim=4, hidden_size=3, dropout=0.5)
    ids = [np.array([i + 2, 1]) for i in range(10)]
    data = training.TrainingData(ids, np.arange(10) % 2, [])
    settings = training.TrainingSettings(n_classes=2, batch_size=4, learning_rate=1e-3, interval=3,
                                         lr_patience=4, n_iter_no_change=8, max_updates=12)
    result = training.train(module, loss_fn, data, settings,
                            training.TrainingState(module, data, settings, np.random.RandomState(0)))
    assert result.n_updates == len(seen) == 12  # 4 passes of 3 batches over 10 documents
    for p in range(4):
        assert sorted(sum(seen[3 * p: 3 * p + 3], [])) == list(range(2, 12))
    assert seen[:3] != seen[3:6]  # reshuffled between passes


@pytest.mark.slow
def test_kl_annealing_starts_within_a_default_fit_on_few_labels(corpus):
    X, y, X_u, _, _ = corpus
    defaults = SSVAETextClassifier()
    assert (defaults.validation_interval, defaults.kl_warmup, defaults.kl_ramp) == ("auto", "auto", "auto")
    # any fit runs at least n_iter_no_change + 1 checks; 3 are enough to reach a weight of 1
    clf = tiny_ssvae(validation_interval="auto", max_updates=20000, n_iter_no_change=3).fit(
        X[:30], y[:30], X_unlabeled=X_u)
    weights = [h["kl_weight"] for h in clf.history_]  # means over each interval
    assert clf.termination_condition_ == "no_change" and len(weights) >= 4
    assert weights[0] == 0 < weights[1] < weights[2] < weights[3] == 1.0  # warm-up 1 interval, ramp 2
    assert clf.history_[-1]["kl_z"] > 0 and clf.history_[-1]["kl_y"] > 0


def test_equal_validation_accuracy_is_broken_by_log_loss(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    scores = iter([(0.5, 1.0), (0.5, 0.9), (0.5, 0.8), (0.5, 0.85), (0.4, 0.5), (0.5, 0.8),
                   (0.5, 0.9), (0.9, 2.0)])
    monkeypatch.setattr(training, "validation_scores", lambda logits, y: next(scores))
    clf = tiny_supervised(max_updates=100, n_iter_no_change=4, lr_patience=10).fit(X, y)
    # checks 2 and 3 improve by loss alone; 4-7 do not (a lower loss with a lower accuracy, or
    # the same loss again), so the fit stops at check 7 and keeps check 3
    assert clf.best_iteration_ == 3 and clf.n_iter_ == 7
    assert clf.best_validation_score_ == 0.5 and clf.history_[2]["valid_log_loss"] == 0.8


def test_a_tiny_validation_set_is_warned_about(corpus):
    X, y, _, _, _ = corpus
    with pytest.warns(UserWarning, match="validation set has 6 documents"):
        tiny_supervised().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tiny_supervised(validation_fraction=None).fit(X, y)


def test_the_best_checks_weights_are_kept_not_the_last(monkeypatch):
    from sslvae_text.model import SSVAE
    module = SSVAE(vocabulary_size=20, n_classes=2, embedding_dim=4, hidden_size=3, dropout=0.5)
    snapshots = []

    def logits(module, ids, n_classes):  # record the weights each check sees
        snapshots.append({k: v.clone() for k, v in module.state_dict().items()})
        return np.zeros((len(ids), n_classes))

    scores = iter([(0.5, 1.0), (0.7, 1.0), (0.6, 0.9), (0.6, 0.8), (0.6, 0.7)])
    monkeypatch.setattr(training, "predict_logits", logits)
    monkeypatch.setattr(training, "validation_scores", lambda logits, y: next(scores))
    ids = [np.array([i % 18 + 2, 1]) for i in range(16)]

    def loss_fn(module, tokens, lengths, labels, step):
        return torch.nn.functional.cross_entropy(module.classify(tokens, lengths), labels), {}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = training.TrainingData(ids, np.arange(16) % 2, [], ids[:4], np.zeros(4, int))
        settings = training.TrainingSettings(n_classes=2, batch_size=4, learning_rate=0.05, interval=2,
                                             lr_patience=10, n_iter_no_change=3, max_updates=10)
        result = training.train(module, loss_fn, data, settings,
                                training.TrainingState(module, data, settings, np.random.RandomState(0)))
    assert not [w for w in caught if w.category is ConvergenceWarning]  # the best was not the last
    assert result.early_stopping.iteration == 2 and result.termination == "no_change" and len(snapshots) == 5
    final = module.state_dict()
    assert all(torch.equal(final[k], snapshots[1][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[-1][k]) for k in final)


def test_stopping_while_still_improving_warns(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    scores = iter([(0.5, 1.0), (0.6, 1.0), (0.7, 1.0)])
    monkeypatch.setattr(training, "validation_scores", lambda logits, y: next(scores))
    with pytest.warns(ConvergenceWarning, match=r"^Stopped at max_updates=6 while the validation "
                                                r"score was still improving; consider raising "
                                                r"max_updates\.$"):
        clf = tiny_supervised(max_updates=6).fit(X, y)
    assert clf.termination_condition_ == "max_updates" and clf.best_iteration_ == 3


def test_validation_scores_are_accuracy_and_log_loss():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0], [1.0, 1.5, 0.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2, 0, 1])
    accuracy, loss = training.validation_scores(logits, y)
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert accuracy == pytest.approx(accuracy_score(y, proba.argmax(1))) == 0.5
    assert loss == pytest.approx(log_loss(y, proba, labels=[0, 1, 2]))
    # computed stably: logits far apart give finite scores
    accuracy, loss = training.validation_scores(np.array([[1000.0, 0.0, -1000.0]]), np.array([1]))
    assert accuracy == 0.0 and loss == pytest.approx(1000.0)


def test_update_pieces_keep_a_batch_within_the_bound_whole():
    labeled = ([np.arange(3), np.arange(4)], [0, 2])
    unlabeled = [np.arange(2)]
    # 3 rows padded to 4 tokens: 12 tokens, exactly the bound
    ((sequences, labels, weight),) = training.update_pieces(labeled, unlabeled, max_tokens=12)
    assert [len(s) for s in sequences] == [3, 4, 2] and labels == [0, 2, -1] and weight == 1.0


def test_update_pieces_cut_a_larger_batch_by_kind_with_weights_summing_to_one_per_kind():
    labeled = ([np.arange(n) for n in (5, 2, 4)], [1, 0, 2])
    unlabeled = [np.arange(n) for n in (3, 6)]
    pieces = training.update_pieces(labeled, unlabeled, max_tokens=11)
    kinds = {"labeled": [], "unlabeled": []}
    for sequences, labels, weight in pieces:
        assert len(sequences) * max(len(s) for s in sequences) <= 11
        assert len(labels) == len(sequences) and weight == len(sequences) / (3 if labels[0] >= 0 else 2)
        kinds["labeled" if labels[0] >= 0 else "unlabeled"].append((sequences, labels, weight))
        assert all((label >= 0) == (labels[0] >= 0) for label in labels)  # one kind per piece
    for kind, n in (("labeled", 3), ("unlabeled", 2)):
        assert sum(w for _, _, w in kinds[kind]) == pytest.approx(1.0)
        assert sum(len(s) for s, _, _ in kinds[kind]) == n
    seen = {len(s): label for sequences, labels, _ in pieces for s, label in zip(sequences, labels)}
    assert seen == {5: 1, 2: 0, 4: 2, 3: -1, 6: -1}  # each row keeps its own label
    # a supervised batch (no unlabeled rows) is cut into labeled pieces only
    assert all(labels[0] >= 0 for _, labels, _ in training.update_pieces(labeled, [], max_tokens=8))


def test_the_optimizer_is_the_authors_adamw_over_trainable_weights():
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    module[0].weight.requires_grad_(False)
    optimizer = make_optimizer(module, 0.004, foreach=False)
    assert isinstance(optimizer, torch.optim.AdamW)
    (group,) = optimizer.param_groups
    assert group["lr"] == 0.004 and group["betas"] == (0.9, 0.99) and group["weight_decay"] == 0.0
    assert group["foreach"] is False
    assert [p.shape for p in group["params"]] == [(2,), (1, 2), (1,)]


def _update_batch():
    g = np.random.RandomState(0)
    labeled = ([g.randint(2, 30, size=n) for n in (4, 7, 3)], [0, 2, 1])
    return labeled, [g.randint(2, 30, size=n) for n in (5, 6)]


def test_an_update_cut_into_pieces_makes_the_same_step_and_terms_as_the_whole_batch(monkeypatch):
    loss_fn = ssvae_objective(alpha=2.0, use_kl=True, kl_warmup=0, kl_ramp=0,
                              unlabeled_y="enumerate", temperature=1.0, z_gradient="stl", bow_weight=0.0,
                              decoder_length=None)
    pieces = []
    real = training.update_pieces
    monkeypatch.setattr(training, "update_pieces", lambda *a: pieces.append(real(*a)) or pieces[-1])
    results = []
    for max_tokens in (10**6, 14):
        module = tiny_network(use_z=False)
        optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
        terms = training.update(module, optimizer, loss_fn, *_update_batch(), step=0,
                                max_tokens=max_tokens)
        results.append((terms, module.state_dict()))
    assert [len(p) for p in pieces] == [1, 3]  # the bound reached update_pieces
    (whole, whole_state), (cut, cut_state) = results
    assert whole.keys() == cut.keys() and all(whole[k] == pytest.approx(cut[k], rel=1e-5) for k in whole)
    for name, value in whole_state.items():
        torch.testing.assert_close(cut_state[name], value, rtol=1e-5, atol=1e-6)


def test_an_update_leaves_a_weight_without_gradient_untouched():
    module = torch.nn.ModuleDict({"a": torch.nn.Linear(1, 1), "b": torch.nn.Linear(1, 1)})
    optimizer = make_optimizer(module, 0.1)

    def loss_fn(module, tokens, lengths, labels, step):
        x = tokens.float()[:, :1]
        loss = module["a"](x).sum() + (module["b"](x).sum() if step == 0 else 0)
        return loss, {}

    batch = ([np.array([2])], [0])
    training.update(module, optimizer, loss_fn, batch, [], step=0)
    after_first = module["b"].weight.detach().clone()
    training.update(module, optimizer, loss_fn, batch, [], step=1)
    torch.testing.assert_close(module["b"].weight, after_first)  # no momentum step without a gradient


@pytest.mark.parametrize("mixed_precision, dtype", [
    (False, torch.float32), pytest.param(True, torch.bfloat16, marks=pytest.mark.bfloat16)])
def test_an_update_computes_in_bfloat16_only_with_mixed_precision(mixed_precision, dtype):
    module = tiny_network(use_z=False)
    seen = []
    module.q_y.linear.register_forward_hook(lambda m, args, out: seen.append(out.dtype))
    loss_fn = ssvae_objective(alpha=1.0, use_kl=False, kl_warmup=0, kl_ramp=0, unlabeled_y="gumbel",
                              temperature=1.0, z_gradient="stl", bow_weight=0.0, decoder_length=None)
    training.update(module, make_optimizer(module, 0.01), loss_fn, *_update_batch(), step=0,
                    mixed_precision=mixed_precision)
    assert set(seen) == {dtype}


# -- warm starts and divergence -----------------------------------------------------------------

def _weights(clf):
    return {k: v.clone() for k, v in clf.module_.state_dict().items()}


def test_two_warm_fits_of_n_updates_give_the_weights_of_one_fit_of_2n(corpus):
    X, y, X_u, X_test, _ = corpus
    # dropout, Gumbel samples, the KL annealing and the batch order all have to carry on
    params = dict(validation_fraction=None, random_state=0, use_kl=True)
    once = tiny_ssvae(max_updates=6, **params).fit(X, y, X_unlabeled=X_u)
    twice = tiny_ssvae(max_updates=3, warm_start=True, **params).fit(X, y, X_unlabeled=X_u)
    halfway = _weights(twice)
    twice = pickle.loads(pickle.dumps(twice))  # the training state travels with the estimator
    twice.fit(X, y, X_unlabeled=X_u)
    final, reference = _weights(twice), _weights(once)
    assert final.keys() == reference.keys()
    assert all(torch.equal(final[k], reference[k]) for k in final)
    assert not all(torch.equal(final[k], halfway[k]) for k in final)
    assert twice.n_updates_ == 6 and len(twice.history_) == 4  # checks at 2, 3, then 5, 6
    assert [h["updates"] for h in twice.history_] == [2, 3, 5, 6]
    np.testing.assert_array_equal(twice.predict_proba(X_test), once.predict_proba(X_test))


def test_without_warm_start_a_second_fit_starts_again(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(max_updates=3, validation_fraction=None).fit(X, y, X_unlabeled=X_u)
    first = _weights(clf)
    clf.fit(X, y, X_unlabeled=X_u)
    assert clf.n_updates_ == 3 and all(torch.equal(first[k], v) for k, v in _weights(clf).items())


def test_a_warm_start_keeps_the_validation_split_and_the_learning_rate(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    seen = []
    real = training.validation_scores
    monkeypatch.setattr(training, "validation_scores", lambda logits, y_val: seen.append(len(y_val)) or real(logits, y_val))
    clf = tiny_supervised(warm_start=True, max_updates=4, lr_patience=1, n_iter_no_change=50).fit(X, y)
    rate = clf.history_[-1]["learning_rate"]
    clf.fit(X, y)
    assert set(seen) == {6} and clf.n_updates_ == 8 and len(clf.history_) == 4
    assert clf.history_[2]["learning_rate"] <= rate  # the optimizer's rate carried on, not reset
    assert clf._training_state.optimizer.param_groups[0]["lr"] <= rate


def test_a_pickled_warm_start_still_keeps_the_best_checks_weights(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    scores = iter([(0.9, 0.1), (0.5, 1.0), (0.4, 1.0), (0.3, 1.0)])  # only the first check is good
    monkeypatch.setattr(training, "validation_scores", lambda logits, y_val: next(scores))
    clf = tiny_supervised(warm_start=True, max_updates=2, validation_interval=2, n_iter_no_change=10).fit(X, y)
    best = _weights(clf)
    clf = pickle.loads(pickle.dumps(clf))
    clf.set_params(max_updates=6).fit(X, y)  # three more checks, none better
    assert clf.best_iteration_ == 1 and clf.n_iter_ == 4
    assert all(torch.equal(best[k], v) for k, v in _weights(clf).items())


def test_a_warm_start_refuses_other_documents_or_classes(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(warm_start=True, max_updates=2).fit(X, y, X_unlabeled=X_u)
    with pytest.raises(ValueError, match=r"^warm_start continues a fit on the same documents: the previous "
                                         r"fit had 60 labeled and 40 unlabeled ones, this one has 60 and 10\.$"):
        clf.fit(X, y, X_unlabeled=X_u[:10])
    other = np.where(y == "world", "culture", y)
    with pytest.raises(ValueError, match=r"^warm_start continues a fit on the same classes"):
        clf.fit(X, other, X_unlabeled=X_u)
    clf.set_params(warm_start=False).fit(X, other, X_unlabeled=X_u[:10])  # a new fit is free
    assert list(clf.classes_) == ["culture", "sports", "tech"]


def _nan_from(step_from, monkeypatch):
    """Make the estimators' objective return NaN from update ``step_from`` (counted from 0) on."""
    real = recipe.objective

    def objective(params, **options):
        loss = real(params, **options)

        def poisoned(module, tokens, lengths, labels, step):
            value, terms = loss(module, tokens, lengths, labels, step)
            if step >= step_from:
                return value * float("nan"), {**terms, "supervised_loss": float("nan")}
            return value, terms
        return poisoned
    monkeypatch.setattr(recipe, "objective", objective)


def test_a_diverging_fit_keeps_the_best_checks_weights_and_warns(corpus, monkeypatch):
    X, y, X_u, X_test, _ = corpus
    _nan_from(4, monkeypatch)
    with pytest.warns(ConvergenceWarning, match=r"^Training diverged \(supervised_loss not finite at update 5\); "
                                                r"the weights of check [12] are kept\. The learning rate "
                                                r"\(0\.004\) is the likely cause: lower it\.$"):
        clf = tiny_supervised(max_updates=20).fit(X, y)
    assert clf.termination_condition_ == "diverged" and clf.n_updates_ == 5 and clf.n_iter_ == 2
    assert all(torch.isfinite(w).all() for w in clf.module_.parameters())
    assert np.isfinite(clf.predict_proba(X_test)).all()


def test_divergence_before_any_check_is_an_error(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    _nan_from(0, monkeypatch)
    clf = tiny_supervised(validation_fraction=None)
    with pytest.raises(ValueError, match=r"^Training diverged \(supervised_loss not finite at update 1\) "
                                         r"before any validation check: lower the learning_rate \(now 0\.004\)\.$"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X[:2])


def test_a_weight_that_becomes_infinite_stops_training(corpus, monkeypatch):
    X, y, _, _, _ = corpus
    real = training.update

    def update(module, *args, step, **kwargs):
        terms = real(module, *args, step=step, **kwargs)
        if step == 3:  # the last update before check 2
            with torch.no_grad():
                module.q_y.linear.bias[0] = float("inf")
        return terms
    monkeypatch.setattr(training, "update", update)
    with pytest.warns(ConvergenceWarning, match=r"weight q_y\.linear\.bias not finite after update 4\); "
                                                r"the weights of check 1 are kept"):
        clf = tiny_supervised(max_updates=20).fit(X, y)
    assert clf.termination_condition_ == "diverged" and torch.isfinite(clf.module_.q_y.linear.bias).all()


def test_every_update_trains_on_a_batch_of_unlabeled_documents(corpus, monkeypatch):
    X, y, X_u, _, _ = corpus
    batches = record_updates(monkeypatch)
    clf = tiny_ssvae(use_kl=True, batch_size=8).fit(X, y, X_unlabeled=X_u)
    assert len(batches) == clf.n_updates_ == 4
    assert all(len(unlabeled) == 8 for _, unlabeled in batches)
    # and the ELBo of unlabeled documents is in the objective: kl_y exists only for them
    assert all(check["kl_y"] is not None for check in clf.history_)


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


def test_the_supervised_baseline_records_its_loss_at_every_check(corpus):
    X, y, _, _, _ = corpus
    clf = tiny_supervised().fit(X, y)
    assert set(clf.history_[0]) >= {"supervised_loss", "valid_accuracy"}
    assert all(isinstance(check["supervised_loss"], float) for check in clf.history_)


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


@CUDA
@pytest.mark.parametrize("output_layer", ["adaptive", "full"])
def test_mixed_precision_fits_on_cuda(corpus, output_layer):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(mixed_precision=True, device="cuda", output_layer=output_layer, decoder_size=64)
    clf.fit(X, y, X_unlabeled=X_u)
    assert np.isfinite(clf.history_[-1]["reconstruction"])
    assert clf.predict(X_test).shape == (len(X_test),)


def test_update_pieces_add_up_to_the_whole_batch_loss():
    torch.manual_seed(0)
    model = SSVAE(vocabulary_size=40, n_classes=2, embedding_dim=8, hidden_size=8, use_z=False, y_dim=4,
                  decoder_size=8, dropout=0.0, generative=True, output_layer="adaptive")
    rng = np.random.default_rng(0)
    labeled = [rng.integers(2, 40, n) for n in (3, 9, 4, 12)]
    unlabeled = [rng.integers(2, 40, n) for n in (5, 2, 11)]
    labels = [0, 1, 1, 0]

    def gradient(pieces):
        model.zero_grad()
        for sequences, piece_labels, weight in pieces:
            tokens, lengths = pad_batch(sequences)
            loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor(piece_labels), alpha=3.0,
                                 beta=0.0, use_kl=False, unlabeled_y="enumerate")
            (loss * weight).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    whole = update_pieces((labeled, labels), unlabeled)
    assert len(whole) == 1
    split = update_pieces((labeled, labels), unlabeled, max_tokens=20)
    assert len(split) > 2 and all(len(set(piece_labels) & {-1}) == 0 or set(piece_labels) == {-1}
                                  for _, piece_labels, _ in split)
    torch.testing.assert_close(gradient(split), gradient(whole), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_a_100000_word_document_fits_in_bounded_memory():
    # A subprocess, for its own peak memory. Padding a batch to the long document took 7.4 GB.
    script = textwrap.dedent("""
        import resource
        import torch
        from sslvae_text import SSVAETextClassifier
        from sslvae_text.datasets import make_text_classification
        torch.set_num_threads(1)
        X, y = make_text_classification(60, n_classes=2, vocabulary_size=300, n_informative=20,
                                        mean_length=10, random_state=0)
        X = list(X)
        X[0] = " ".join("w%d" % (i % 50) for i in range(100_000))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        clf = SSVAETextClassifier(embedding_dim=8, hidden_size=8, y_dim=4, decoder_size=8,
                                  use_z=False, max_length=None, max_updates=1,
                                  validation_fraction=None, random_state=0, device="cpu")
        clf.fit(X[:30], y[:30], X_unlabeled=X[30:])
        assert clf.predict(X[:5]).shape == (5,)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    assert int(out.stdout.split()[-1]) < 1024  # MB on top of the imports; about 350 measured


def test_the_progress_bar_counts_updates_and_fits_80_columns(corpus, capsys):
    X, y, X_u, _, _ = corpus
    tiny_ssvae(verbose=1, max_updates=12, validation_interval=4).fit(X, y, X_unlabeled=X_u)
    out, err = capsys.readouterr()
    frames = [f for f in re.split(r"[\r\n]", err) if "updates |" in f]
    assert frames and any("12/12 updates" in f for f in frames)
    assert max(len(f.strip()) for f in frames) <= 80
    assert [line.split(":")[0] for line in out.splitlines()] == ["check 1", "check 2", "check 3"]
