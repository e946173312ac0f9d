import numpy as np
import pytest
import torch

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.datasets import make_text_classification
from sslvae_text.model import SSVAE

# Small networks: the tests check behaviour, not accuracy at the paper's sizes.
# Two validation checks of two updates each.
TINY = dict(embedding_dim=8, hidden_size=8, validation_interval=2, max_updates=4, random_state=0,
            device="cpu")
TINY_SSVAE = dict(TINY, z_dim=4, y_dim=4, decoder_size=8)


def tiny_ssvae(**params):
    return SSVAETextClassifier(**{**TINY_SSVAE, **params})


def tiny_supervised(**params):
    return SupervisedTextClassifier(**{**TINY, **params})


def tiny_network(**options):
    """A seeded SSVAE network of a few units, without dropout, with the full softmax."""
    torch.manual_seed(0)
    params = dict(vocabulary_size=30, n_classes=3, embedding_dim=6, hidden_size=5, z_dim=4, y_dim=3,
                  decoder_size=7, dropout=0.0, output_layer="full")
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
