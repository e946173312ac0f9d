"""The recipe: an estimator's hyperparameters and documents -> vocabulary, network, objective.

The estimators' ``fit``, the speed benchmark and the table scripts all build their models
here, so that a model timed or swept is the model ``fit`` trains. ``params`` is an
estimator's ``get_params()``; the network and the objective below take explicit arguments
and know no estimator parameter names.
"""

import time

import torch

from .embeddings import DEFAULT_DIM, build_embedding_matrix
from .model import DIV_VALUE, SSVAE
from .objective import ssvae_objective, supervised_objective
from .text import Vocabulary

__all__ = ["embedding_matrix", "encode", "network", "objective", "vocabulary"]


def vocabulary(params, tokenized):
    """The vocabulary of tokenised documents: the ``vocabulary_size`` most frequent words."""
    return Vocabulary.build(tokenized, max_size=params["vocabulary_size"])


def encode(params, vocab, tokenized):
    """Word ids of tokenised documents, truncated to ``max_length``."""
    return [vocab.encode(doc, max_length=params["max_length"]) for doc in tokenized]


def embedding_matrix(params, vocab, tokenized, *, seed, verbose=0):
    """The initial word vectors: ``(matrix or None, found rows or None, dimension, seconds)``.

    The dimension is ``embedding_dim``, or with "auto" the vectors' own (300 without vectors).
    """
    start = time.perf_counter()
    auto = params["embedding_dim"] == "auto"
    matrix, found = build_embedding_matrix(
        vocab.itos, params["embeddings"], dim=None if auto else params["embedding_dim"],
        texts=tokenized, random_state=seed, verbose=verbose,
    )
    dim = matrix.shape[1] if matrix is not None else DEFAULT_DIM if auto else params["embedding_dim"]
    return matrix, found, dim, time.perf_counter() - start


def network(params, *, vocabulary_size, n_classes, embedding_dim, generative, matrix=None, found=None,
            cutoffs=None, div_value=DIV_VALUE):
    """The network: the SSVAE's when ``generative``, else the supervised baseline's classifier.

    ``matrix`` (with ``found``, from :func:`embedding_matrix`) fills the embedding table;
    ``freeze_embeddings`` then holds the found rows (every row without vectors). ``cutoffs`` and
    ``div_value`` shape the adaptive softmax (the benchmark varies them).
    """
    options = dict(vocabulary_size=vocabulary_size, n_classes=n_classes, embedding_dim=embedding_dim,
                   hidden_size=params["hidden_size"], dropout=params["dropout"])
    if generative:
        options.update(
            generative=True, use_z=params["use_z"], z_dim=params["z_dim"], y_dim=params["y_dim"],
            decoder_size=params["decoder_size"], output_layer=params["output_layer"],
            shared_encoder=params["shared_encoder"], cutoffs=cutoffs, div_value=div_value,
            bag_of_words=params["bow_weight"] > 0)
    module = SSVAE(**options)
    if matrix is not None:
        with torch.no_grad():
            module.embedding.weight.copy_(torch.from_numpy(matrix))
    if params["freeze_embeddings"] and matrix is None:
        module.embedding.weight.requires_grad_(False)
    elif params["freeze_embeddings"]:
        module.embedding.freeze_rows(found)
    return module


def objective(params, *, generative, interval):
    """``loss(module, tokens, lengths, labels, step)`` of one update, for a fit that checks the
    validation set every ``interval`` updates ("auto" KL annealing follows it)."""
    if not generative:
        return supervised_objective()
    return ssvae_objective(
        alpha=params["alpha"], use_kl=params["use_kl"],
        kl_warmup=interval if params["kl_warmup"] == "auto" else params["kl_warmup"],
        kl_ramp=2 * interval if params["kl_ramp"] == "auto" else params["kl_ramp"],
        unlabeled_y=params["unlabeled_y"], temperature=params["temperature"],
        z_gradient=params["z_gradient"], bow_weight=params["bow_weight"],
        decoder_length=params["decoder_max_length"],
    )
