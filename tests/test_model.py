"""The networks and the objective: each term as the paper defines it, computed only when used."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from sslvae_text import SSVAETextClassifier, objective, recipe
from sslvae_text.model import SSVAE, BagOfWords, PXGivenYZ, QZGivenX, SentenceEncoder, adaptive_cutoffs
from sslvae_text.objective import kl_to_standard_normal, kl_to_uniform, kl_weight, stl_kl_to_standard_normal
from sslvae_text.text import PAD_ID, pad_batch

from conftest import ssvae_loss, tiny_network

V, K = 50, 3


def _model(**sizes):
    return tiny_network(**{"vocabulary_size": V, "n_classes": K, **sizes}).eval()


def _batch(*lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return pad_batch([torch.randint(2, V, (n,), generator=g).numpy() for n in lengths])


def _n_parameters(module):
    return sum(p.numel() for p in module.parameters())


def test_removing_z_removes_its_head_and_decoder_input():
    with_z, without_z = _model(), _model(use_z=False)
    assert without_z.q_z is None and with_z.q_z is not None
    tokens, lengths = _batch(5, 3)
    assert without_z.encode(tokens, lengths)[2] is None
    assert without_z.p_x.lstm.input_size == with_z.p_x.lstm.input_size - 4
    assert _n_parameters(without_z) < _n_parameters(with_z)


def test_supervised_network_has_no_decoder():
    model = _model(generative=False)
    assert model.p_x is None and model.q_z is None
    assert _n_parameters(model) < _n_parameters(_model(use_z=False))


def test_z_has_its_own_encoder_with_separate_parameters():
    model = _model()
    assert model.z_encoder is not None and model.z_encoder is not model.encoder
    y_params = {id(p) for p in model.encoder.parameters()}
    assert y_params.isdisjoint(id(p) for p in model.z_encoder.parameters())
    assert _n_parameters(model.z_encoder) == _n_parameters(model.encoder)
    # and it is what q(z|x) reads: the two sentence states differ
    tokens, lengths = _batch(5, 2, 8)
    _, h_y, h_z = model.encode(tokens, lengths)
    torch.testing.assert_close(h_z, model.z_encoder(model.embedding(tokens), lengths))
    assert not torch.allclose(h_y, h_z)


def test_shared_encoder_builds_one_encoder_read_by_both_heads():
    shared, paper = _model(shared_encoder=True), _model()
    assert shared.z_encoder is None and shared.q_z is not None
    tokens, lengths = _batch(5, 2, 8)
    _, h_y, h_z = shared.encode(tokens, lengths)
    assert h_z is h_y
    assert _n_parameters(paper) - _n_parameters(shared) == _n_parameters(paper.z_encoder)
    # without z there is no second encoder to share
    assert _model(use_z=False).z_encoder is None and _model(generative=False).z_encoder is None


def test_reconstruction_through_z_trains_z_encoder_not_y_encoder():
    """Labeled rows, alpha = 0: y is observed, so only z's path reaches the encoders."""
    model = _model().train()
    tokens, lengths = _batch(5, 3, 7, 4)
    loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor([0, 1, 2, 0]), alpha=0.0, beta=0.0,
                         use_kl=False)
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in model.encoder.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.z_encoder.parameters())
    # the same objective with the shared encoder sends z's gradient into y's encoder
    shared = _model(shared_encoder=True).train()
    ssvae_loss(shared, tokens, lengths, torch.tensor([0, 1, 2, 0]), alpha=0.0, beta=0.0,
               use_kl=False)[0].backward()
    assert shared.encoder.forward_lstm.weight_ih_l0.grad.abs().sum() > 0


def test_classify_runs_only_y_encoder(monkeypatch):
    model = _model()
    monkeypatch.setattr(model.z_encoder, "forward", lambda *a: pytest.fail("z's encoder ran"))
    tokens, lengths = _batch(5, 2)
    assert model.classify(tokens, lengths).shape == (2, K)


def test_encoder_state_of_a_padded_batch_equals_each_document_alone():
    model = _model()
    tokens, lengths = _batch(5, 2, 8)
    _, h_y, h_z = model.encode(tokens, lengths)
    for i, n in enumerate(lengths.tolist()):
        _, alone_y, alone_z = model.encode(tokens[i : i + 1, :n], lengths[i : i + 1])
        torch.testing.assert_close(h_y[i], alone_y[0])
        torch.testing.assert_close(h_z[i], alone_z[0])


def test_reconstruction_ignores_padding_and_is_a_normalised_log_likelihood():
    model = _model()
    tokens, lengths = _batch(5, 2, 8)
    y = F.one_hot(torch.tensor([0, 1, 2]), K).float()
    z = torch.randn(3, 4)
    embedded = model.embedding(tokens)
    nll = model.p_x(embedded, tokens, lengths, y, z)
    for i, n in enumerate(lengths.tolist()):
        one = tokens[i : i + 1, :n]
        torch.testing.assert_close(nll[i], model.p_x(model.embedding(one), one, lengths[i : i + 1], y[i : i + 1], z[i : i + 1])[0])
    # A one-token document: -log p(x_1 | y, z) summed over the vocabulary's words is 1.
    single = torch.arange(V).unsqueeze(1)
    ones = torch.ones(V, dtype=torch.long)
    nll_single = model.p_x(model.embedding(single), single, ones, y[:1].expand(V, K), z[:1].expand(V, 4))
    assert torch.exp(-nll_single).sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("output_layer", ["full", "adaptive"])
def test_output_layers_are_normalised_distributions(output_layer):
    model = _model(decoder_size=32, output_layer=output_layer,
                   cutoffs=[10, 25] if output_layer == "adaptive" else None)
    h = torch.randn(4, 32)
    if output_layer == "adaptive":
        log_p = model.p_x.output.log_prob(h)
    else:
        log_p = model.p_x.output(h).log_softmax(-1)
    torch.testing.assert_close(log_p.exp().sum(-1), torch.ones(4))


def test_adaptive_softmax_clusters_follow_vocabulary_and_decoder_sizes():
    assert adaptive_cutoffs(10000) == [1000, 4000]
    assert adaptive_cutoffs(2) == [1]
    wide = _model(decoder_size=32, output_layer="adaptive").p_x.output
    assert wide.cutoffs[:-1] == [5, 20] and [t[0].out_features for t in wide.tail] == [8, 2]
    # 7 units leave none for a second tail (7 // 16 == 0): its words join the first one.
    narrow = _model(decoder_size=7, output_layer="adaptive").p_x.output
    assert narrow.cutoffs[:-1] == [5] and narrow.tail[0][0].out_features == 1
    h = torch.randn(3, 7)
    torch.testing.assert_close(narrow.log_prob(h).exp().sum(-1), torch.ones(3))
    # under 4 units no tail gets one: the full softmax, rather than a tail scored by a bias
    assert isinstance(_model(decoder_size=3, output_layer="adaptive").p_x.output, torch.nn.Linear)
    # div_value sets each tail's width: 32 // 2 and 32 // 4 rather than 32 // 4 and 32 // 16
    halving = _model(decoder_size=32, output_layer="adaptive", div_value=2.0).p_x.output
    assert [t[0].out_features for t in halving.tail] == [16, 8]


def test_y_enters_the_decoder_through_a_lookup_table():
    """A one-hot y selects one row of the table; a soft y mixes rows (no bias added)."""
    table = _model().p_x.y_table
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    expected = torch.stack([table.weight[:, 0], table.weight[:, 2],
                            (table.weight[:, 0] + table.weight[:, 1]) / 2])
    torch.testing.assert_close(table(y), expected)


def test_q_z_scale_stays_positive_when_its_softplus_underflows():
    q_z = _model().q_z
    with torch.no_grad():
        q_z.scale.bias.fill_(-200.0)  # softplus(-200) is 0 in float32
    scale = q_z(torch.zeros(2, 10)).scale
    assert torch.all(scale >= 1e-6)


@pytest.mark.bfloat16
def test_reconstruction_is_summed_in_float32_under_bfloat16_autocast():
    model = _model(use_z=False)
    tokens, lengths = _batch(5, 3)
    embedded, _, _ = model.encode(tokens, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        nll = model.p_x(embedded, tokens, lengths, torch.eye(K)[:2])
    assert nll.dtype == torch.float32


def test_closed_form_kls():
    loc, scale = torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0, 0.3]])
    expected = (0.5 * (loc**2 + scale**2 - 1) - scale.log()).sum(-1)
    torch.testing.assert_close(kl_to_standard_normal(Normal(loc, scale)), expected)
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    q = logits.softmax(-1)
    torch.testing.assert_close(kl_to_uniform(logits), (q * (q.log() + math.log(3))).sum(-1))
    assert kl_to_uniform(logits)[1].item() == pytest.approx(0.0, abs=1e-7)


def test_stl_kl_has_the_closed_form_value_and_the_sticking_the_landing_gradient():
    loc = torch.tensor([[0.5, -1.0]], requires_grad=True)
    scale = torch.tensor([[2.0, 0.3]], requires_grad=True)
    eps = torch.tensor([[0.7, -0.2]])
    q_z = Normal(loc, scale)
    z = loc + scale * eps
    value = stl_kl_to_standard_normal(q_z, z)
    torch.testing.assert_close(value, kl_to_standard_normal(q_z))
    value.sum().backward()
    # d/dz [log q(z) - log p(z)] with q's parameters fixed is -(z - loc)/scale^2 + z.
    dz = (-(z - loc) / scale**2 + z).detach()
    torch.testing.assert_close(loc.grad, dz)
    torch.testing.assert_close(scale.grad, dz * eps)


def test_kl_weight_schedule():
    assert [kl_weight(s) for s in (0, 2999, 3000, 4500, 6000, 9000)] == [0, 0, 0, 0.5, 1, 1]
    assert kl_weight(5, warmup=5, ramp=0) == 1.0


def _loss(model, labels, **options):
    tokens, lengths = _batch(5, 3, 7, 4)
    settings = dict(alpha=10.0, beta=1.0, use_kl=True, temperature=1.0, z_gradient="stl")
    return ssvae_loss(model, tokens, lengths, torch.tensor(labels), **{**settings, **options})


def test_without_kl_no_kl_is_computed(monkeypatch):
    def forbidden(*args):
        raise AssertionError("a KL was computed")

    for name in ("kl_to_standard_normal", "stl_kl_to_standard_normal", "kl_to_uniform"):
        monkeypatch.setattr(objective, name, forbidden)
    loss, terms = _loss(_model(), [0, 1, -1, -1], use_kl=False)
    assert torch.isfinite(loss) and "kl_z" not in terms and "kl_y" not in terms


def test_labeled_and_unlabeled_terms_follow_eq_2():
    """The whole loss against its terms computed one by one (exact enumeration: no sampling)."""
    model = _model(use_z=False)
    tokens, lengths = _batch(5, 3, 7, 4)
    labels = torch.tensor([0, 2, -1, -1])
    alpha, beta = 10.0, 0.5
    loss, terms = ssvae_loss(model, tokens, lengths, labels, alpha=alpha, beta=beta, use_kl=True,
                             unlabeled_y="enumerate")
    embedded, h, _ = model.encode(tokens, lengths)
    y_logits = model.q_y(h)
    nll = torch.stack([model.p_x(embedded, tokens, lengths, F.one_hot(torch.full((4,), k), K).float())
                       for k in range(K)], dim=-1)  # -log p(x|y=k) of every row and class
    labeled_term = nll[[0, 1], [0, 2]] - alpha * y_logits.log_softmax(-1)[[0, 1], [0, 2]]
    q_y = y_logits[2:].softmax(-1)
    unlabeled_term = (q_y * nll[2:]).sum(-1) + beta * kl_to_uniform(y_logits[2:])
    torch.testing.assert_close(loss, labeled_term.mean() + unlabeled_term.mean())
    assert "kl_z" not in terms and terms["kl_y"] == pytest.approx(kl_to_uniform(y_logits[2:]).mean().item())
    # the history's terms are means per document (4 documents, the longest of 7 words)
    expected_nll = torch.cat([nll[[0, 1], [0, 2]], (q_y * nll[2:]).sum(-1)])
    assert terms["reconstruction"] == pytest.approx(expected_nll.mean().item(), rel=1e-5)
    supervised = F.cross_entropy(y_logits[:2], labels[:2])
    assert terms["supervised_loss"] == pytest.approx(supervised.item(), rel=1e-5)


@pytest.mark.parametrize("label", [1, -1])
def test_one_document_weighs_as_much_as_a_batch_of_its_copies(label):
    """Labeled and unlabeled terms are means over their rows, whatever the count."""
    model = _model(use_z=False)
    tokens, lengths = _batch(6)

    def loss(copies):
        return ssvae_loss(model, tokens.repeat(copies, 1), lengths.repeat(copies),
                          torch.tensor([label] * copies), alpha=3.0, beta=0.5, use_kl=True,
                          unlabeled_y="enumerate")[0]

    torch.testing.assert_close(loss(1), loss(2))


def test_z_gradient_selects_the_gradient_of_kl_z_not_its_value():
    """z_gradient="analytic" takes the closed form's gradient, "stl" the estimate's; same value."""
    model = _model()
    tokens, lengths = _batch(5, 3, 7, 4)
    labels = torch.tensor([0, 1, 2, 0])

    def loss_and_gradient(beta, z_gradient):
        model.zero_grad()
        torch.manual_seed(0)  # the same z each time
        loss, _ = ssvae_loss(model, tokens, lengths, labels, alpha=1.0, beta=beta, use_kl=True,
                             z_gradient=z_gradient)
        loss.backward()
        return loss.detach(), model.q_z.scale.weight.grad.clone()

    loss_0, grad_0 = loss_and_gradient(0.0, "analytic")
    for z_gradient, kl in [("analytic", lambda q_z, z: kl_to_standard_normal(q_z)),
                           ("stl", stl_kl_to_standard_normal)]:
        loss, grad = loss_and_gradient(1.0, z_gradient)
        model.zero_grad()
        torch.manual_seed(0)
        _, _, h_z = model.encode(tokens, lengths)
        q_z = model.q_z(h_z)
        kl_z = kl(q_z, q_z.rsample()).mean()
        kl_z.backward()
        torch.testing.assert_close(loss - loss_0, kl_z.detach())  # the same value either way
        torch.testing.assert_close(grad - grad_0, model.q_z.scale.weight.grad)


def test_kl_z_weighs_on_labeled_and_unlabeled_rows_by_beta():
    model = _model()
    tokens, lengths = _batch(5, 3, 7, 4)

    def loss(labels, beta):
        torch.manual_seed(0)  # the same z sample and Gumbel noise each time
        return ssvae_loss(model, tokens, lengths, torch.tensor(labels), alpha=1.0, beta=beta,
                          use_kl=True, unlabeled_y="gumbel")

    _, h_y, h_z = model.encode(tokens, lengths)
    kl_z = kl_to_standard_normal(model.q_z(h_z))
    kl_y = kl_to_uniform(model.q_y(h_y))
    for labels, expected in [([0, 1, 2, 0], kl_z.mean()),
                             ([0, 1, -1, -1], kl_z[:2].mean() + kl_z[2:].mean() + kl_y[2:].mean())]:
        (with_kl, _), (without, _) = loss(labels, 0.7), loss(labels, 0.0)
        torch.testing.assert_close(with_kl - without, 0.7 * expected)


def test_observed_labels_are_decoded_one_hot():
    model = _model(use_z=False)
    tokens, lengths = _batch(5, 3)
    loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor([1, 2]), alpha=0.0, beta=0.0,
                         use_kl=False)
    embedded, _, _ = model.encode(tokens, lengths)
    y = F.one_hot(torch.tensor([1, 2]), K).float()
    torch.testing.assert_close(loss, model.p_x(embedded, tokens, lengths, y).mean())


def test_enumeration_is_the_exact_expectation_over_q_y():
    model = _model(use_z=False)
    tokens, lengths = _batch(5, 3, seed=2)
    labels = torch.tensor([-1, -1])
    loss, _ = ssvae_loss(model, tokens, lengths, labels, alpha=1.0, beta=0.0, use_kl=False,
                         unlabeled_y="enumerate")
    embedded, h, _ = model.encode(tokens, lengths)
    q_y = model.q_y(h).softmax(-1)
    per_class = torch.stack([model.p_x(embedded, tokens, lengths, F.one_hot(torch.full((2,), k), K).float())
                             for k in range(K)], dim=-1)
    torch.testing.assert_close(loss, (q_y * per_class).sum(-1).mean())


def test_gumbel_sample_is_soft_and_differentiable_into_q_y():
    model = _model(use_z=False)
    model.train()
    loss, _ = _loss(model, [-1, -1, -1, -1], use_kl=False)
    loss.backward()
    assert model.q_y.linear.weight.grad.abs().sum() > 0


def test_encoder_equals_a_packed_bidirectional_lstm_with_the_same_weights():
    model = _model()
    encoder = model.encoder
    packed_lstm = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(packed_lstm, f"{name}_l0").copy_(getattr(encoder.forward_lstm, f"{name}_l0"))
            getattr(packed_lstm, f"{name}_l0_reverse").copy_(getattr(encoder.backward_lstm, f"{name}_l0"))
    tokens, lengths = _batch(5, 2, 8, 1)
    embedded = model.embedding(tokens)
    packed = torch.nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    _, (h_n, _) = packed_lstm(packed)
    torch.testing.assert_close(encoder(embedded, lengths), torch.cat([h_n[-2], h_n[-1]], -1))


@pytest.mark.parametrize("options, match", [
    (dict(z_dim=0), "z_dim must be a positive integer"),
    (dict(decoder_size=0), "decoder_size must be a positive integer"),
    (dict(output_layer="huge"), "output_layer must be one of"),
    (dict(hidden_size=2.5), "hidden_size must be a positive integer"),
    (dict(vocabulary_size=0), "^vocabulary_size must be a positive integer, got 0"),
    (dict(n_classes=0), "^n_classes must be a positive integer, got 0"),
    (dict(embedding_dim=0), "^embedding_dim must be a positive integer, got 0"),
    (dict(y_dim=0), "^y_dim must be a positive integer, got 0"),
])
def test_the_network_refuses_sizes_that_would_silently_drop_a_part(options, match):
    with pytest.raises(ValueError, match=match):
        _model(**options)
    # the classifier alone has no z nor decoder to size
    if "z_dim" in options or "decoder_size" in options:
        assert _model(generative=False, **options).p_x is None


def test_sizes_of_one_are_allowed_and_z_dim_is_ignored_without_z():
    tiny = _model(embedding_dim=1, hidden_size=1, y_dim=1, z_dim=1, decoder_size=1)
    assert tiny.q_z.loc.out_features == 1 and tiny.p_x.lstm.hidden_size == 1
    assert _model(use_z=False, z_dim=0).q_z is None


def test_the_estimators_default_network_is_the_papers_sizes():
    params = SSVAETextClassifier().get_params()
    model = recipe.network(params, vocabulary_size=V, n_classes=K, embedding_dim=300, generative=True)
    assert model.embedding.embedding_dim == 300 and model.encoder.forward_lstm.hidden_size == 100
    assert model.q_z.loc.out_features == 32 and model.p_x.y_table.out_features == 32
    assert model.p_x.lstm.hidden_size == 300 and model.z_encoder is not None
    assert isinstance(model.p_x.output, torch.nn.AdaptiveLogSoftmaxWithLoss)
    assert model.encoder.dropout.p == 0.5


def test_the_padding_row_is_zero_and_never_trained():
    model = _model()
    assert not model.embedding.weight[PAD_ID].any()
    tokens, lengths = _batch(5, 3, 7, 4)
    loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor([0, 1, -1, -1]), alpha=1.0,
                         beta=1.0, use_kl=True)
    loss.backward()
    assert not model.embedding.weight.grad[PAD_ID].any()
    assert model.embedding.weight.grad[tokens[0, 0]].any()


def test_given_cutoffs_shape_the_adaptive_softmax():
    output = _model(decoder_size=32, output_layer="adaptive", cutoffs=[10, 25]).p_x.output
    assert output.cutoffs == [10, 25, V]


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


@pytest.mark.bfloat16
def test_the_adaptive_softmax_runs_in_float32_under_autocast():
    # Under CUDA autocast it failed on half inputs (index_copy_ dtype error).
    torch.manual_seed(0)
    model = SSVAE(vocabulary_size=60, n_classes=2, embedding_dim=8, hidden_size=8, z_dim=4, y_dim=4,
                  decoder_size=64, output_layer="adaptive", dropout=0.5, generative=True, use_z=True,
                  shared_encoder=False)
    seen = []
    model.p_x.output.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].dtype))
    tokens, lengths = pad_batch([np.array([5, 6, 7, 8]), np.array([9, 10])])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor([0, -1]), alpha=1.0, beta=1.0,
                             use_kl=True)
    assert seen == [torch.float32]
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_the_bag_of_words_likelihood_of_every_class_from_counts_is_the_decoders():
    torch.manual_seed(0)
    bag = BagOfWords(vocabulary_size=9, n_classes=3, z_dim=0)
    tokens, lengths = pad_batch([np.array([2, 5, 5, 8]), np.array([3, 4])])
    counts = torch.zeros(2, 9).index_put_((torch.tensor([0, 0, 0, 0, 1, 1]), torch.tensor([2, 5, 5, 8, 3, 4])),
                                          torch.ones(6), accumulate=True)
    expected = torch.stack([-bag(tokens, lengths, torch.eye(3)[[k, k]]) for k in range(3)], dim=1)
    torch.testing.assert_close(bag.log_likelihoods(counts), expected)
    torch.testing.assert_close(bag.log_likelihoods(counts.to_sparse_csr()), expected)
