"""The recipe: estimator hyperparameters on their way to the network and the objective."""

import pytest
import torch

from sslvae_text import objective

from conftest import tiny_ssvae


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


def test_dropout_reaches_every_dropout_layer(corpus):
    X, y, X_u, _, _ = corpus
    clf = tiny_ssvae(dropout=0.3).fit(X, y, X_unlabeled=X_u)
    layers = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(layers) == 3  # y's encoder, z's encoder, the decoder's input
    assert all(layer.p == 0.3 for layer in layers)
