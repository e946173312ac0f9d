"""The objective: sampling y and z, the sticking-the-landing gradient, precision."""

import numpy as np
import pytest
import torch

from sslvae_text import objective
from sslvae_text.text import pad_batch

from conftest import ssvae_loss, tiny_network


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
