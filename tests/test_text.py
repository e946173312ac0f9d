import numpy as np

from sslvae_text.text import PAD_ID, UNK_ID, Vocabulary, bucketed_batches, pad_batch, tokenize


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
