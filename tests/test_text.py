import numpy as np
import pytest
import torch

from sslvae_text._validation import check_targets, check_texts, unlabeled_mask
from sslvae_text.text import (PAD_ID, UNK_ID, Vocabulary, bucketed_batches, pad_batch, sorted_batches,
                              token_bounded, tokenize)


def test_tokenize_lowercases_and_splits_on_whitespace():
    assert tokenize("The  CAT\tsat\n") == ["the", "cat", "sat"]
    assert tokenize("The CAT", lowercase=False) == ["The", "CAT"]


def test_vocabulary_orders_words_by_frequency_and_caps_its_size():
    docs = [["b", "a", "b"], ["c", "b", "a"], ["d"]]
    vocab = Vocabulary.build(docs, max_size=2)
    assert vocab.itos == ["<pad>", "<unk>", "b", "a"]
    assert vocab.encode(["a", "zzz", "b"]).tolist() == [3, UNK_ID, 2]


def test_encode_truncates_and_never_returns_an_empty_document():
    vocab = Vocabulary.build([["a", "b", "c"]], max_size=10)
    assert len(vocab.encode(["a", "b", "c"], max_length=2)) == 2
    assert vocab.encode([]).tolist() == [UNK_ID]


def test_pad_batch_pads_to_the_longest_document_of_the_batch():
    tokens, lengths = pad_batch([np.array([5, 6]), np.array([7, 8, 9])])
    assert tokens.tolist() == [[5, 6, PAD_ID], [7, 8, 9]]
    assert lengths.tolist() == [2, 3]


def test_bucketed_batches_cover_every_index_once_with_little_padding():
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 200, size=1000)
    batches = bucketed_batches(lengths, 32, rng)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    shuffled = sum(len(b) * lengths[b].max() for b in np.array_split(rng.permutation(1000), len(batches)))
    assert padded < 0.7 * shuffled


def test_special_tokens_written_in_a_document_are_unknown_words_not_padding():
    vocab = Vocabulary.build([["<pad>", "a"]], max_size=10)
    assert vocab.encode(["<pad>", "a"]).tolist() == [UNK_ID, vocab.stoi["a"]]


def test_vocabulary_breaks_frequency_ties_by_first_appearance_and_keeps_every_word_uncapped():
    vocab = Vocabulary.build([["z", "y"], ["x", "y"]], max_size=10)
    assert vocab.itos == ["<pad>", "<unk>", "y", "z", "x"] and len(vocab) == 5
    assert vocab.encode(["x", "y", "z"] * 300).tolist() == [4, 2, 3] * 300  # no max_length


def test_pad_batch_gives_int64_ids_and_lengths():
    tokens, lengths = pad_batch([np.array([3]), np.array([4, 5])])
    assert tokens.dtype == lengths.dtype == torch.int64


def test_token_bounded_cuts_a_large_batch_into_sorted_pieces_within_the_bound():
    lengths = np.array([5, 1, 9, 2, 30, 3, 4])
    rows = np.array([0, 1, 2, 3, 5, 6])
    assert [p.tolist() for p in token_bounded(rows, lengths, max_tokens=54)] == [rows.tolist()]
    pieces = token_bounded(rows, lengths, max_tokens=12)
    assert sorted(np.concatenate(pieces).tolist()) == sorted(rows.tolist())
    assert [p.tolist() for p in pieces] == [[1, 3, 5], [6, 0], [2]]  # by length, each <= 12 tokens
    assert [p.tolist() for p in token_bounded(np.array([4, 1]), lengths, max_tokens=12)] == [[1], [4]]
    assert [p.tolist() for p in token_bounded(np.array([], dtype=int), lengths)] == [[]]
    # a piece of exactly max_tokens is kept; a first row over the bound is a piece of its own
    equal = np.array([4, 4, 4, 5])
    assert [p.tolist() for p in token_bounded(np.arange(4), equal, max_tokens=12)] == [[0, 1, 2], [3]]
    assert [p.tolist() for p in token_bounded(np.array([4, 2]), lengths, max_tokens=8)] == [[2], [4]]


def test_sorted_batches_read_documents_in_length_order():
    lengths = np.array([3, 1, 2, 1, 5])
    assert [b.tolist() for b in sorted_batches(lengths, 2)] == [[1, 3], [2, 0], [4]]


def test_bucketed_batches_sort_within_buckets_and_reshuffle_every_pass():
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 100, size=64)
    batches = bucketed_batches(lengths, 4, rng, bucket_size=1)  # each bucket is one batch
    assert all(np.all(np.diff(lengths[b]) >= 0) for b in batches)
    again = bucketed_batches(lengths, 4, rng, bucket_size=1)
    assert [b.tolist() for b in batches] != [b.tolist() for b in again]
    assert sorted(np.concatenate(again).tolist()) == list(range(64))


def test_the_unlabeled_marker_is_minus_one_as_a_number_or_a_string():
    class Incomparable:
        def __eq__(self, other):
            raise TypeError("cannot compare")

    labels = ["-1", " -1 ", "a", "1", -1, -1.0, np.int64(-1), 1, None, float("nan"),
              np.array([-1, -1]), Incomparable()]
    assert unlabeled_mask(labels).tolist() == [True, True, False, False, True, True, True, False,
                                               False, False, False, False]


def test_documents_and_labels_are_checked_by_name():
    assert check_texts(np.array([["a b"], ["c"]], dtype=object), "X") == ["a b", "c"]  # one column
    with pytest.raises(ValueError, match=r"^X must be one column of documents; got a ndarray of "
                                         r"shape \(2, 2\)\. Pass the column of text, e\.g\. "
                                         r"df\['text'\]\.$"):
        check_texts(np.array([["a", "b"], ["c", "d"]]), "X")
    with pytest.raises(ValueError, match=r"^y is required: the labels of X, with -1 for unlabeled "
                                         r"rows\.$"):
        check_targets(None, 2)
    with pytest.raises(ValueError, match=r"^y must be 1-dimensional, got shape \(2, 1\)\.$"):
        check_targets([[0], [1]], 2)
    with pytest.raises(ValueError, match=r"^X has 3 documents but y has 2 labels\.$"):
        check_targets([0, 1], 3)


def test_token_bounded_pieces_cover_the_batch_within_the_bound():
    lengths = np.array([3, 50, 4, 1000, 5, 60, 2])
    rows = np.arange(len(lengths))
    np.testing.assert_array_equal(token_bounded(rows, lengths, max_tokens=7000)[0], rows)
    pieces = token_bounded(rows, lengths, max_tokens=120)
    assert sorted(np.concatenate(pieces).tolist()) == rows.tolist()
    for piece in pieces:
        assert len(piece) * lengths[piece].max() <= 120 or len(piece) == 1
    assert [3] in [piece.tolist() for piece in pieces]  # longer than the bound: alone
