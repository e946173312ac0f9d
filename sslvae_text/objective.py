"""The training objective: Eq. 2 of Felhi et al. (2021) and its simplifications (Eq. 4).

For a labeled pair (x, y) the loss is ``-ELBo((x, y); z) - alpha * log q(y|x)``; for an
unlabeled x it is ``-ELBo(x; (y, z))``. Removing z drops q(z|x) and its KL; removing the KL
drops every KL term (beta = 0 forever, nothing is computed). Terms are summed over a
document's tokens and averaged over documents, labeled and unlabeled batches separately.
"""

import math

import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence


__all__ = [
    "enumerated_ssvae_loss", "kl_to_standard_normal", "kl_to_uniform", "kl_weight", "ssvae_loss", "ssvae_objective",
    "stl_kl_to_standard_normal", "supervised_loss", "supervised_objective",
]


def kl_to_standard_normal(q_z):
    """KL(q(z|x) || N(0, I)) in closed form, summed over z's dimensions: shape (batch,)."""
    return kl_divergence(q_z, Normal(0.0, 1.0)).sum(-1)


def stl_kl_to_standard_normal(q_z, z):
    """KL(q(z|x) || N(0, I)) with the sticking-the-landing gradient (Roeder et al., 2017).

    Its value is the closed-form KL; its gradient is that of ``log q(z|x) - log p(z)`` at the
    reparameterised sample ``z`` with q's parameters held fixed, which drops the score-function
    term whose expectation is zero and lowers the gradient's variance.
    """
    q_fixed = Normal(q_z.loc.detach(), q_z.scale.detach())
    estimate = (q_fixed.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1)
    return kl_to_standard_normal(q_z).detach() + estimate - estimate.detach()


def kl_to_uniform(y_logits):
    """KL(q(y|x) || Uniform(K)) of a categorical q(y|x) given by its logits: shape (batch,)."""
    log_q = y_logits.log_softmax(-1)
    return (log_q.exp() * (log_q + math.log(y_logits.size(-1)))).sum(-1)


def kl_weight(step, *, warmup=3000, ramp=3000):
    """beta of the KL annealing: 0 for ``warmup`` updates, then linear up to 1 over ``ramp``."""
    if ramp == 0:
        return float(step >= warmup)
    return min(1.0, max(0.0, (step - warmup) / ramp))


def supervised_objective():
    """The supervised baseline's loss of one update, ``loss(model, tokens, lengths, labels, step)``."""
    def loss(model, tokens, lengths, labels, step):
        return supervised_loss(model, tokens, lengths, labels)
    return loss


def ssvae_objective(*, alpha, use_kl, kl_warmup, kl_ramp, **options):
    """The SSVAE's loss of one update, ``loss(model, tokens, lengths, labels, step)``.

    The KL weight beta follows :func:`kl_weight` over the updates (0 without the KL terms) and
    is recorded among the terms; ``options`` go to :func:`ssvae_loss`.
    """
    def loss(model, tokens, lengths, labels, step):
        beta = kl_weight(step, warmup=kl_warmup, ramp=kl_ramp) if use_kl else 0.0
        value, terms = ssvae_loss(model, tokens, lengths, labels, alpha=alpha, beta=beta,
                                  use_kl=use_kl, **options)
        terms["kl_weight"] = beta
        return value, terms
    return loss


def supervised_loss(model, tokens, lengths, labels):
    """-log q(y|x) averaged over the batch: the supervised baseline's whole objective."""
    y_logits = model.classify(tokens, lengths)
    loss = F.cross_entropy(y_logits, labels)
    return loss, {"supervised_loss": loss.item()}


def ssvae_loss(model, tokens, lengths, labels, *, alpha, beta, use_kl, unlabeled_y, temperature, z_gradient,
               bow_weight, decoder_length):
    """Negative objective of one update on a batch that holds labeled and unlabeled rows.

    Parameters
    ----------
    model : SSVAE
    tokens, lengths : Tensor
        Padded word ids (batch, longest) and document lengths.
    labels : Tensor of shape (batch,)
        Class index of labeled rows, -1 on unlabeled rows.
    alpha : float
        Weight of log q(y|x) on the labeled rows (Eq. 2).
    beta : float
        Weight of the KL terms (annealed); unused when ``use_kl`` is False.
    use_kl : bool
        False removes every KL term (Eq. 4): none is computed.
    unlabeled_y : {"gumbel", "enumerate"}
        How the expectation over q(y|x) of an unlabeled row is estimated: one soft
        Gumbel-softmax sample (the paper), or exactly, decoding the row once per class
        (Kingma et al., 2014, M2).
    temperature : float
        Gumbel-softmax temperature.
    z_gradient : {"stl", "analytic"}
        Gradient of KL(q(z|x) || p(z)): sticking-the-landing (the paper) or the closed form's.
    bow_weight : float
        Weight of the bag-of-words term of -log p(x|y,z) (``model.p_bag``), added to the LSTM
        decoder's. Ignored, and nothing computed, when the model has no ``p_bag``.
    decoder_length : int or None
        The LSTM decoder reconstructs the first ``decoder_length`` tokens of each document
        (all when None); the encoders and the bag-of-words term read the whole document.

    Returns
    -------
    loss : Tensor
        Scalar to minimise.
    terms : dict
        Batch means of the terms, as floats, for the training history.
    """
    embedded, h_y, h_z = model.encode(tokens, lengths)
    y_logits = model.q_y(h_y)
    labeled = labels >= 0
    n_labeled, n_unlabeled = int(labeled.sum()), int((~labeled).sum())
    n_classes = y_logits.size(-1)

    # log q(y|x) of the labeled rows
    supervised = F.cross_entropy(y_logits[labeled], labels[labeled], reduction="sum")

    z = kl_z = None
    if model.q_z is not None:
        q_z = model.q_z(h_z)
        z = q_z.rsample()
        if use_kl:
            kl_z = (stl_kl_to_standard_normal(q_z, z) if z_gradient == "stl"
                    else kl_to_standard_normal(q_z))

    # p(x|y,z): y is one-hot when observed; for unlabeled rows a soft sample, or every class in turn.
    one_hot = F.one_hot(labels.clamp(min=0), n_classes).to(embedded.dtype)

    def decode(rows, y):
        return _reconstruction(model, embedded[rows], tokens[rows], lengths[rows], y,
                               None if z is None else z[rows], decoder_length)

    if unlabeled_y == "gumbel" or n_unlabeled == 0:
        y = one_hot.clone()
        y[~labeled] = F.gumbel_softmax(y_logits[~labeled], tau=temperature, hard=False).to(y.dtype)
        nll = decode(slice(None), y)
    else:
        nll = _enumerate_classes(decode, labeled, one_hot, y_logits)
    lstm_nll, bow_nll = nll
    expected_nll = lstm_nll if bow_nll is None else lstm_nll + bow_weight * bow_nll

    reconstruction = lstm_nll.sum()
    loss_labeled = expected_nll[labeled].sum() + alpha * supervised
    loss_unlabeled = expected_nll[~labeled].sum()
    terms = {"reconstruction": reconstruction.item() / tokens.size(0)}
    if bow_nll is not None:
        terms["bag_of_words"] = bow_nll.mean().item()
    if n_labeled:
        terms["supervised_loss"] = supervised.item() / n_labeled
    if kl_z is not None:
        loss_labeled = loss_labeled + beta * kl_z[labeled].sum()
        loss_unlabeled = loss_unlabeled + beta * kl_z[~labeled].sum()
        terms["kl_z"] = kl_z.mean().item()
    if use_kl and n_unlabeled:
        kl_y = kl_to_uniform(y_logits[~labeled])
        loss_unlabeled = loss_unlabeled + beta * kl_y.sum()
        terms["kl_y"] = kl_y.mean().item()
    loss = loss_labeled / max(n_labeled, 1) + loss_unlabeled / max(n_unlabeled, 1)
    return loss, terms


def enumerated_ssvae_loss(y_logits, log_p_x, labels, *, alpha):
    """Negative objective of a model without z, given log p(x|y) of every document and class.

    The exact expectation over q(y|x) (Kingma et al.'s M2) and the KL of q(y|x) to the uniform
    prior on unlabeled rows (labels -1); ``alpha`` weighs log q(y|x) on the labeled ones. Each
    half is averaged over its rows, as in :func:`ssvae_loss`.
    """
    labeled = labels >= 0
    n_labeled, n_unlabeled = int(labeled.sum()), int((~labeled).sum())
    supervised = F.cross_entropy(y_logits[labeled], labels[labeled], reduction="sum")
    elbo_labeled = log_p_x[labeled].gather(1, labels[labeled].unsqueeze(1)).sum()
    q_y = y_logits[~labeled].softmax(-1)
    elbo_unlabeled = ((q_y * log_p_x[~labeled]).sum(-1) - kl_to_uniform(y_logits[~labeled])).sum()
    return (alpha * supervised - elbo_labeled) / max(n_labeled, 1) - elbo_unlabeled / max(n_unlabeled, 1)


def _reconstruction(model, embedded, tokens, lengths, y, z, decoder_length):
    """-log p(x|y,z) of each row: the LSTM decoder's, over the first ``decoder_length`` tokens,
    and the bag-of-words term's over all of them (None when the model has none)."""
    if decoder_length is not None and tokens.size(1) > decoder_length:
        lstm = model.p_x(embedded[:, :decoder_length], tokens[:, :decoder_length].contiguous(),
                         lengths.clamp(max=decoder_length), y, z)
    else:
        lstm = model.p_x(embedded, tokens, lengths, y, z)
    return lstm, None if model.p_bag is None else model.p_bag(tokens, lengths, y, z)


def _enumerate_classes(decode, labeled, one_hot, y_logits):
    """The terms of -log p(x|y,z) of each row: exact expectations under q(y|x) for the unlabeled rows.

    ``decode(rows, y)`` gives the terms of the rows ``rows`` decoded with ``y``. Each unlabeled
    row is decoded once per class; labeled rows once, with their label.
    """
    n_classes = y_logits.size(-1)
    unlabeled = (~labeled).nonzero().squeeze(-1)
    rows = torch.cat([labeled.nonzero().squeeze(-1), unlabeled.repeat_interleave(n_classes)])
    classes = torch.eye(n_classes, dtype=one_hot.dtype, device=one_hot.device).repeat(len(unlabeled), 1)
    n_labeled = int(labeled.sum())
    q_y = y_logits[unlabeled].softmax(-1)
    expectations = []
    for nll in decode(rows, torch.cat([one_hot[labeled], classes])):
        if nll is None:
            expectations.append(None)
            continue
        expected = torch.empty(labeled.size(0), dtype=nll.dtype, device=nll.device)
        expected[labeled] = nll[:n_labeled]
        expected[unlabeled] = (q_y * nll[n_labeled:].view(-1, n_classes)).sum(-1)
        expectations.append(expected)
    return expectations
