"""The torch modules of the semi-supervised VAE: q(y|x), q(z|x) and p(x|y,z).

One embedding table serves the encoders and the decoder, looked up once per batch. As in the
paper (Section 4.1), q(y|x) and q(z|x) each read the words with a BiLSTM of their own;
``shared_encoder=True`` makes them share one (cheaper, not the paper's model).

The LSTMs run over padded batches (length-bucketed, so padding is small) rather than packed
sequences: on CPU the backward pass of a packed LSTM costs time proportional to the steps
times the tokens, 2.5x slower at IMDB's lengths (docs/speed.md). Results are those of a
packed run: each recurrence reads a document's real words before any padding, and padded
positions are dropped before any loss.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from .text import PAD_ID

__all__ = [
    "DIV_VALUE", "OUTPUT_LAYERS", "BagOfWords", "FoldEnsemble", "LinearSSVAE", "PXGivenYZ", "QYGivenX", "QZGivenX", "SSVAE",
    "SentenceEncoder", "WordEmbedding", "adaptive_cutoffs", "make_optimizer",
]

OUTPUT_LAYERS = ("adaptive", "full")
#: Each tail cluster of the adaptive softmax projects to 1/DIV_VALUE the units of the one before.
DIV_VALUE = 4.0


class WordEmbedding(nn.Embedding):
    """The word table, whose rows can be held fixed one by one.

    ``freeze_rows(mask)`` keeps the rows marked True as they are (pretrained vectors) while the
    others (words the vectors lack) go on training: those rows get a zero gradient, so AdamW
    without weight decay never moves them. Pickles like any module.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.register_buffer("frozen_rows", None)

    def freeze_rows(self, mask):
        self.frozen_rows = torch.as_tensor(mask, dtype=torch.bool, device=self.weight.device).unsqueeze(1)

    def forward(self, tokens):
        weight = self.weight
        if self.frozen_rows is not None:
            weight = torch.where(self.frozen_rows, weight.detach(), weight)
        return F.embedding(tokens, weight, self.padding_idx)


class SentenceEncoder(nn.Module):
    """Embedded words -> sentence state: a BiLSTM's final forward and backward states.

    The two directions are two LSTMs; the backward one reads each document reversed within
    its own length, so that it, too, starts on a real word.
    """

    def __init__(self, embedding_dim, hidden_size, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.forward_lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.backward_lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)

    @property
    def output_size(self):
        return 2 * self.forward_lstm.hidden_size

    def forward(self, embedded, lengths):
        embedded = self.dropout(embedded)
        steps = embedded.size(1)
        last = (lengths.to(embedded.device) - 1).unsqueeze(1)  # (batch, 1)
        step = torch.arange(steps, device=embedded.device).unsqueeze(0)
        reverse = torch.where(step <= last, last - step, step).unsqueeze(-1).expand_as(embedded)
        forward_states, _ = self.forward_lstm(embedded)
        backward_states, _ = self.backward_lstm(embedded.gather(1, reverse))
        final = last.unsqueeze(-1).expand(-1, 1, forward_states.size(-1))
        return torch.cat([forward_states.gather(1, final), backward_states.gather(1, final)], -1).squeeze(1)


class QYGivenX(nn.Module):
    """q(y|x): sentence state -> logits of the K classes."""

    def __init__(self, in_features, n_classes):
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)

    def forward(self, h):
        return self.linear(h)


class QZGivenX(nn.Module):
    """q(z|x) = N(loc(h), softplus(scale(h))), diagonal."""

    def __init__(self, in_features, z_dim):
        super().__init__()
        self.loc = nn.Linear(in_features, z_dim)
        self.scale = nn.Linear(in_features, z_dim)

    def forward(self, h):
        return Normal(self.loc(h), F.softplus(self.scale(h)) + 1e-6)


def adaptive_cutoffs(vocabulary_size):
    """Default clusters of the adaptive softmax: the 10% most frequent words, then up to 40%.

    Word ids are in frequency order (see :class:`~sslvae_text.text.Vocabulary`). A smaller head
    is cheaper (every token pays for it), but sends more tokens to the tails; at V=10,000 the
    head of 1,000 words makes updates markedly cheaper than one of 2,000, and one of 500 gains
    little more (docs/speed.md).
    """
    cutoffs = sorted({max(1, vocabulary_size // 10), max(2, 2 * vocabulary_size // 5)})
    return [c for c in cutoffs if c < vocabulary_size]


class PXGivenYZ(nn.Module):
    """p(x|y,z) = prod_i p(x_i | y, z, x_<i): an LSTM language model fed [y embedding; z; previous word].

    y enters as a vector over the classes (one-hot when observed, a Gumbel-softmax sample when
    not) that mixes the rows of a learned table. The output layer is a full softmax over the
    vocabulary, or an adaptive softmax (an exact factorisation: p(x|y,z) stays normalised).
    """

    def __init__(
        self, *, embedding_dim, vocabulary_size, n_classes, y_dim, z_dim, hidden_size, dropout,
        output_layer, cutoffs, div_value,
    ):
        super().__init__()
        self.y_table = nn.Linear(n_classes, y_dim, bias=False)
        self.start = nn.Parameter(torch.zeros(embedding_dim))  # the learned "previous word" of step 1
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embedding_dim + y_dim + z_dim, hidden_size, batch_first=True)
        # Tail cluster i of an adaptive softmax projects to hidden_size // 4**(i+1) units: keep
        # only the tails a decoder this size gives a unit (the others' words join the last kept
        # tail); with none left (fewer than 4 units) the full softmax is as cheap.
        cutoffs = cutoffs or adaptive_cutoffs(vocabulary_size)
        kept = [c for i, c in enumerate(cutoffs) if hidden_size // div_value ** (i + 1) >= 1]
        if output_layer == "adaptive" and kept:
            self.output = nn.AdaptiveLogSoftmaxWithLoss(hidden_size, vocabulary_size, kept, div_value=div_value)
        else:
            self.output = nn.Linear(hidden_size, vocabulary_size)

    def forward(self, embedded, tokens, lengths, y, z=None):
        """-log p(x|y,z) of each document, summed over its real tokens: shape (batch,).

        ``embedded`` are the embeddings of ``tokens``; the decoder reads them shifted right
        behind the start vector, so the lookup done for the encoder is reused.
        """
        batch, steps = tokens.shape
        start = self.start.expand(batch, 1, -1)
        previous = torch.cat([start, embedded[:, :-1]], dim=1)
        latent = [self.y_table(y)] if z is None else [self.y_table(y), z]
        latent = torch.cat(latent, dim=-1).unsqueeze(1).expand(-1, steps, -1)
        hidden, _ = self.lstm(self.dropout(torch.cat([previous, latent], dim=-1)))
        # Only real tokens reach the output layer, the costliest part of the model.
        real = torch.arange(steps, device=tokens.device) < lengths.to(tokens.device).unsqueeze(1)
        position = real.view(-1).nonzero().squeeze(1)
        targets = tokens.view(-1)[position]
        hidden = hidden.reshape(batch * steps, -1)[position]
        if isinstance(self.output, nn.AdaptiveLogSoftmaxWithLoss):
            # In float32, outside autocast: under CUDA autocast it mixes half and float tensors
            # and fails. On a CPU this costs little; the full softmax's matmul, where bfloat16
            # pays (docs/speed.md), stays under autocast.
            with torch.autocast(hidden.device.type, enabled=False):
                log_p = self.output(hidden.float(), targets).output
        else:
            # autocast runs cross_entropy in float32: the sum over a document loses no nats
            log_p = -F.cross_entropy(self.output(hidden), targets, reduction="none")
        return torch.zeros(batch, device=tokens.device, dtype=log_p.dtype).index_add_(
            0, torch.div(position, steps, rounding_mode="floor"), -log_p
        )


class BagOfWords(nn.Module):
    """The bag-of-words view of p(x|y,z): one softmax over the vocabulary, a log-linear function
    of y (and z), that every token of the document is drawn from, in any order.

    Unlike the LSTM decoder it cannot explain a word by the words before it, so what the
    document is about must come through y and z (Miao et al. 2016; Gururangan et al. 2019).
    """

    def __init__(self, *, vocabulary_size, n_classes, z_dim):
        super().__init__()
        self.linear = nn.Linear(n_classes + z_dim, vocabulary_size)

    def log_likelihoods(self, counts):
        """log p(x|y) of each document for every class y, without z: shape (documents, classes).

        ``counts`` holds each document's word counts, shape (documents, vocabulary), dense or
        sparse (a CSR tensor keeps a corpus of thousands of documents small).
        """
        log_p = (self.linear.weight.T + self.linear.bias).log_softmax(-1)  # (classes, vocabulary)
        return counts @ log_p.T

    def forward(self, tokens, lengths, y, z=None):
        """-sum over the document's real tokens of log p(word|y,z): shape (batch,)."""
        latent = y if z is None else torch.cat([y, z], dim=-1)
        log_p = self.linear(latent).log_softmax(-1)
        real = torch.arange(tokens.size(1), device=tokens.device) < lengths.to(tokens.device).unsqueeze(1)
        counts = torch.zeros_like(log_p).scatter_add_(1, tokens, real.to(log_p.dtype))
        return -(counts * log_p).sum(-1)


class SSVAE(nn.Module):
    """Embedding, y's encoder and q(y|x), and, when generative, q(z|x) and p(x|y,z).

    Every size is given: the defaults are the estimators' (:mod:`sslvae_text.recipe` builds
    this network from them). ``generative=False`` builds the classifier alone (the supervised
    baseline's network), and the options of z and of the decoder are not needed.
    ``use_z=False`` builds no q(z|x) and feeds no z to the decoder. q(z|x) reads the words with
    its own BiLSTM (``z_encoder``, the paper's architecture), or with y's when
    ``shared_encoder`` is True. ``bag_of_words`` adds :class:`BagOfWords` (``p_bag``); without
    it no such weight exists, so the network and its random initialisation are the paper's.
    Sizes below 1 and unknown output layers are refused, as torch's own modules do.
    """

    def __init__(
        self, *, vocabulary_size, n_classes, embedding_dim, hidden_size, dropout, generative=False,
        use_z=None, z_dim=None, y_dim=None, decoder_size=None, output_layer=None, shared_encoder=None,
        cutoffs=None, div_value=DIV_VALUE, bag_of_words=False,
    ):
        super().__init__()
        sizes = dict(vocabulary_size=vocabulary_size, n_classes=n_classes, embedding_dim=embedding_dim,
                     hidden_size=hidden_size)
        if generative:
            sizes.update(y_dim=y_dim, decoder_size=decoder_size, **({"z_dim": z_dim} if use_z else {}))
        for name, value in sizes.items():
            if value is None or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if generative and output_layer not in OUTPUT_LAYERS:
            raise ValueError(f"output_layer must be one of {OUTPUT_LAYERS}, got {output_layer!r}.")
        self.embedding = WordEmbedding(vocabulary_size, embedding_dim, padding_idx=PAD_ID)
        self.encoder = SentenceEncoder(embedding_dim, hidden_size, dropout)
        self.q_y = QYGivenX(self.encoder.output_size, n_classes)
        self.q_z = self.z_encoder = self.p_x = self.p_bag = None
        if not generative:
            return
        if use_z:
            if not shared_encoder:
                self.z_encoder = SentenceEncoder(embedding_dim, hidden_size, dropout)
            self.q_z = QZGivenX(self.encoder.output_size, z_dim)
        self.p_x = PXGivenYZ(
            embedding_dim=embedding_dim, vocabulary_size=vocabulary_size, n_classes=n_classes,
            y_dim=y_dim, z_dim=z_dim if use_z else 0, hidden_size=decoder_size, dropout=dropout,
            output_layer=output_layer, cutoffs=cutoffs, div_value=div_value,
        )
        if bag_of_words:
            self.p_bag = BagOfWords(vocabulary_size=vocabulary_size, n_classes=n_classes,
                                    z_dim=z_dim if use_z else 0)

    def encode(self, tokens, lengths):
        """Embeddings of the words, and the sentence states read by q(y|x) and by q(z|x).

        The state for q(z|x) is None without z, and y's state with a shared encoder.
        """
        embedded = self.embedding(tokens)
        h_y = self.encoder(embedded, lengths)
        h_z = None
        if self.q_z is not None:
            h_z = h_y if self.z_encoder is None else self.z_encoder(embedded, lengths)
        return embedded, h_y, h_z

    def classify(self, tokens, lengths):
        """Logits of q(y|x); runs neither z's encoder nor the decoder."""
        return self.q_y(self.encoder(self.embedding(tokens), lengths))


class LinearSSVAE(nn.Module):
    """M2 of Kingma et al. (2014) without z, with both halves log-linear.

    q(y|x) is a logistic regression on a document's features (the mean of its word vectors:
    the peer a user would fit), p(x|y) a :class:`BagOfWords`: a mixture of one word
    distribution per class, which the unlabeled documents shape through the ELBo.
    """

    def __init__(self, *, n_features, n_classes, vocabulary_size):
        super().__init__()
        self.q_y = QYGivenX(n_features, n_classes)
        self.p_bag = BagOfWords(vocabulary_size=vocabulary_size, n_classes=n_classes, z_dim=0)


class FoldEnsemble(nn.Module):
    """k classifiers fitted on k folds, answering as one: q(y|x) is the mean of their q(y|x).

    ``classify`` returns the log of that mean, logits whose softmax is the average.
    """

    def __init__(self, modules):
        super().__init__()
        self.folds = nn.ModuleList(modules)

    def classify(self, tokens, lengths):
        log_q = torch.stack([fold.classify(tokens, lengths).log_softmax(-1) for fold in self.folds])
        return torch.logsumexp(log_q, dim=0) - math.log(len(self.folds))


def make_optimizer(module, learning_rate, **options):
    """The authors' optimizer: AdamW, betas (0.9, 0.99), no weight decay, on trainable weights.

    ``options`` go to :class:`torch.optim.AdamW` (e.g. ``fused=True``, for benchmarks).
    """
    return torch.optim.AdamW(
        [p for p in module.parameters() if p.requires_grad],
        lr=learning_rate, betas=(0.9, 0.99), weight_decay=0.0, **options,
    )
