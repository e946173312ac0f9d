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


# -- the bag-of-words term and the partial decoder ----------------------------------------------

_DOCUMENTS = [np.array([2, 5, 5, 7]), np.array([3, 4]), np.array([8, 6, 5])]


def _loss_of(model, labels, seed=0, **options):
    tokens, lengths = pad_batch(_DOCUMENTS)
    torch.manual_seed(seed)
    settings = dict(alpha=10.0, beta=0.5, use_kl=True, temperature=1.0)
    return ssvae_loss(model, tokens, lengths, torch.tensor(labels), **{**settings, **options})


@pytest.mark.parametrize("unlabeled_y, expected", [("gumbel", 31.90134048461914),
                                                   ("enumerate", 31.903491973876953)])
def test_bow_weight_0_is_the_papers_loss_and_network_exactly(unlabeled_y, expected):
    """The values the objective gave before the bag-of-words term existed (torch 2.13, CPU)."""
    model = tiny_network()
    assert model.p_bag is None
    tokens, lengths = pad_batch([np.array([2, 5, 7, 9]), np.array([3, 4]), np.array([8, 6, 5])])
    torch.manual_seed(0)
    loss, terms = ssvae_loss(model, tokens, lengths, torch.tensor([0, -1, -1]), alpha=10.0, beta=0.5,
                             use_kl=True, unlabeled_y=unlabeled_y)
    assert loss.item() == pytest.approx(expected, rel=1e-6) and "bag_of_words" not in terms


def _hand_bag_of_words(p_bag, document, y):
    """-sum over the document's words of log softmax(W y + b)[word], one word at a time."""
    log_p = (p_bag.linear.weight @ y + p_bag.linear.bias).log_softmax(-1)
    return -sum(log_p[word] for word in document)


def test_the_bag_of_words_term_of_a_labeled_and_an_unlabeled_document():
    model = tiny_network(use_z=False, bag_of_words=True).eval()
    labels = [2, -1, 0]
    weight = 0.7
    base, _ = _loss_of(model, labels, unlabeled_y="enumerate", bow_weight=0.0)
    loss, terms = _loss_of(model, labels, unlabeled_y="enumerate", bow_weight=weight)
    eye = torch.eye(3)
    labeled = [_hand_bag_of_words(model.p_bag, _DOCUMENTS[0], eye[2]),
               _hand_bag_of_words(model.p_bag, _DOCUMENTS[2], eye[0])]
    tokens, lengths = pad_batch(_DOCUMENTS)
    q_y = model.classify(tokens, lengths)[1].softmax(-1)
    unlabeled = sum(q_y[k] * _hand_bag_of_words(model.p_bag, _DOCUMENTS[1], eye[k]) for k in range(3))
    # each kind of row is averaged over its own rows (2 labeled, 1 unlabeled)
    torch.testing.assert_close(loss - base, weight * (sum(labeled) / 2 + unlabeled))
    assert terms["bag_of_words"] == pytest.approx(((sum(labeled) + unlabeled) / 3).item(), rel=1e-5)


def test_the_bag_of_words_term_reads_the_y_and_z_the_lstm_decoder_reads():
    model = tiny_network(bag_of_words=True).eval()
    seen = {}
    model.p_x.register_forward_pre_hook(lambda m, args: seen.update(p_x=(args[3], args[4])))
    model.p_bag.register_forward_pre_hook(lambda m, args: seen.update(p_bag=(args[2], args[3])))
    _loss_of(model, [0, -1, -1], unlabeled_y="gumbel", bow_weight=1.0)
    assert 0 < seen["p_bag"][0][1:].max() < 1  # a soft Gumbel sample for the unlabeled rows
    for mine, decoders in zip(seen["p_bag"], seen["p_x"]):
        assert torch.equal(mine, decoders)
    assert model.p_bag.linear.in_features == 3 + 4  # y over 3 classes, z of 4


@pytest.mark.parametrize("bow_weight", [0.0, 1.0])
def test_the_partial_decoder_reconstructs_exactly_the_first_tokens(bow_weight):
    model = tiny_network(use_z=False, bag_of_words=bool(bow_weight)).eval()
    seen = []
    model.p_x.register_forward_pre_hook(lambda m, args: seen.append((args[1].clone(), args[2].clone())))
    encoded = []
    model.encoder.register_forward_pre_hook(lambda m, args: encoded.append(args[1].clone()))
    loss, terms = _loss_of(model, [0, 1, 2], bow_weight=bow_weight, decoder_length=3)
    tokens, lengths = seen[0]
    assert lengths.tolist() == [3, 2, 3]
    assert [row[:n].tolist() for row, n in zip(tokens, lengths)] == [[2, 5, 5], [3, 4], [8, 6, 5]]
    assert encoded[0].tolist() == [4, 2, 3]  # q(y|x) reads whole documents
    # the decoder's term is that of the truncated documents decoded on their own
    short, short_lengths = pad_batch([d[:3] for d in _DOCUMENTS])
    embedded = model.embedding(short)
    nll = model.p_x(embedded, short, short_lengths, torch.eye(3), None)
    assert terms["reconstruction"] == pytest.approx(nll.mean().item(), rel=1e-5)
    if bow_weight:  # while the bag of words covers every token
        whole = [_hand_bag_of_words(model.p_bag, d, torch.eye(3)[k]) for k, d in enumerate(_DOCUMENTS)]
        assert terms["bag_of_words"] == pytest.approx((sum(whole) / 3).item(), rel=1e-5)


def test_the_enumerated_loss_sums_over_every_class_and_weighs_the_labels_by_alpha():
    y_logits = torch.tensor([[2.0, 0.0], [0.5, -0.5], [0.0, 1.0]])
    log_p_x = torch.tensor([[-3.0, -5.0], [-4.0, -2.0], [-6.0, -1.0]])
    labels = torch.tensor([0, -1, -1])
    loss = objective.enumerated_ssvae_loss(y_logits, log_p_x, labels, alpha=10.0)
    supervised = -torch.log_softmax(y_logits[0], -1)[0]
    q = y_logits[1:].softmax(-1)
    elbo_unlabeled = ((q * log_p_x[1:]).sum(-1) - (q * (q.log() + np.log(2))).sum(-1)).mean()
    torch.testing.assert_close(loss, 10.0 * supervised - log_p_x[0, 0] - elbo_unlabeled)


def test_the_enumerated_loss_without_unlabeled_rows_is_its_labeled_half():
    y_logits, log_p_x = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([[-3.0, -5.0], [-6.0, -1.0]])
    loss = objective.enumerated_ssvae_loss(y_logits, log_p_x, torch.tensor([0, 1]), alpha=2.0)
    expected = (2.0 * (-torch.log_softmax(y_logits, -1)[[0, 1], [0, 1]]) - log_p_x[[0, 1], [0, 1]]).mean()
    torch.testing.assert_close(loss, expected)

