"""Text processing: the whitespace tokenizer, the vocabulary and length-bucketed batches of word ids."""

from collections import Counter

import numpy as np
import torch

__all__ = [
    "PAD", "PAD_ID", "SPECIALS", "UNK", "UNK_ID", "Vocabulary", "bucketed_batches", "pad_batch",
    "sorted_batches", "token_bounded", "tokenize",
]

PAD, UNK = "<pad>", "<unk>"
SPECIALS = (PAD, UNK)
PAD_ID, UNK_ID = range(len(SPECIALS))
#: Batches per length bucket in :func:`bucketed_batches`.
BUCKET_SIZE = 50
#: Most padded tokens in one forward pass, in training and in inference: 64 documents of 400
#: tokens (a default batch at the default ``max_length``) fit; a batch that holds longer
#: documents is cut into pieces (:func:`token_bounded`), so memory follows the longest
#: document rather than the batch size times it.
MAX_BATCH_TOKENS = 64 * 400


def tokenize(text, *, lowercase=True):
    """Split a document on white space, as the paper does."""
    return (text.lower() if lowercase else text).split()


class Vocabulary:
    """Word <-> id table: the special tokens, then words from most to least frequent.

    Frequency order matters: an adaptive softmax puts the first ids in its head cluster.
    """

    def __init__(self, tokens):
        self.itos = list(tokens)
        # "<pad>" written in a document is an unknown word, not padding.
        self.stoi = {token: i for i, token in enumerate(self.itos) if token != PAD}

    @classmethod
    def build(cls, tokenized_documents, *, max_size):
        """Keep the ``max_size`` most frequent words (ties: first seen first)."""
        counts = Counter(token for doc in tokenized_documents for token in doc)
        words = [word for word, _ in counts.most_common(max_size) if word not in SPECIALS]
        return cls([*SPECIALS, *words])

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens, *, max_length=None):
        """Word ids of one document, truncated to ``max_length``.

        A document with no token becomes ``[<unk>]``: the encoder reads the state at its last word.
        """
        ids = [self.stoi.get(token, UNK_ID) for token in tokens[:max_length]]
        return np.asarray(ids or [UNK_ID], dtype=np.int64)


def pad_batch(sequences):
    """Stack 1-d id arrays into a (batch, longest) tensor padded with ``PAD_ID``, and their lengths."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    tokens = np.full((len(sequences), lengths.max()), PAD_ID, dtype=np.int64)
    for row, sequence in zip(tokens, sequences):
        row[: len(sequence)] = sequence
    return torch.from_numpy(tokens), torch.from_numpy(lengths)


def bucketed_batches(lengths, batch_size, rng, *, bucket_size=BUCKET_SIZE):
    """Shuffled batches of indices whose documents have similar lengths.

    Indices are shuffled, cut into buckets of ``bucket_size`` batches, sorted by length
    inside each bucket, then cut into batches whose order is shuffled again: padding stays
    small while batches still differ from one epoch to the next.
    """
    order = rng.permutation(len(lengths))
    span = batch_size * bucket_size
    batches = []
    for start in range(0, len(order), span):
        bucket = order[start : start + span]
        bucket = bucket[np.argsort(lengths[bucket], kind="stable")]
        batches.extend(bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(lengths, batch_size):
    """Batches of indices in length order, for inference (the caller restores the order)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def token_bounded(rows, lengths, max_tokens=MAX_BATCH_TOKENS):
    """Cut a batch of indices into pieces of at most ``max_tokens`` padded tokens.

    A batch within the bound comes back whole, in its order. Otherwise its rows are sorted by
    length, so that each piece pads little; a document longer than ``max_tokens`` is a piece
    of its own.
    """
    rows = np.asarray(rows)
    if len(rows) * lengths[rows].max(initial=0) <= max_tokens:
        return [rows]
    rows = rows[np.argsort(lengths[rows], kind="stable")]
    pieces, start = [], 0
    for end in range(1, len(rows) + 1):
        # rows[start:end] pads to the length of its last, longest row
        if (end - start) * lengths[rows[end - 1]] > max_tokens and end - 1 > start:
            pieces.append(rows[start : end - 1])
            start = end - 1
    pieces.append(rows[start:])
    return pieces
