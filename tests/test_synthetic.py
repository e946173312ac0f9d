import re

import numpy as np
import pytest

from sslvae_text.datasets import make_text_classification


def test_same_seed_same_corpus_and_balanced_classes():
    X1, y1 = make_text_classification(90, n_classes=3, random_state=4)
    X2, y2 = make_text_classification(90, n_classes=3, random_state=4)
    assert X1 == X2 and np.array_equal(y1, y2)
    assert np.bincount(y1).tolist() == [30, 30, 30]
    assert X1 != make_text_classification(90, n_classes=3, random_state=5)[0]


def test_each_class_has_words_of_its_own_and_shares_the_rest():
    X, y = make_text_classification(600, n_classes=2, vocabulary_size=300, n_informative=20,
                                    random_state=0)
    words = [set(" ".join(x for x, c in zip(X, y) if c == k).split()) for k in (0, 1)]
    assert len(words[0] - words[1]) >= 10 and len(words[1] - words[0]) >= 10
    assert len(words[0] & words[1]) > 100


def test_impossible_sizes_are_refused():
    with pytest.raises(ValueError, match="n_informative"):
        make_text_classification(10, n_classes=2, vocabulary_size=100, n_informative=60)


def test_the_default_corpus():
    X, y = make_text_classification(random_state=0)
    assert len(X) == 1000 and np.bincount(y).tolist() == [500, 500]
    tokens = " ".join(X).split(" ")
    assert all(re.fullmatch(r"w\d+", t) and int(t[1:]) < 2000 for t in tokens)
    assert np.mean([len(x.split(" ")) for x in X]) == pytest.approx(30, abs=1)
    # each class owns 100 words: with only class words, class 0's documents use all of them
    X, y = make_text_classification(2000, informative_fraction=1.0, random_state=0)
    assert len(set(" ".join(x for x, label in zip(X, y) if label == 0).split(" "))) == 100


def _rank_ratio(tokens, rank):
    counts = np.sort(np.unique(tokens, return_counts=True)[1])[::-1]
    return counts[0] / counts[rank - 1]


@pytest.mark.parametrize("informative_fraction", [0.0, 1.0])
def test_shared_and_class_words_follow_zipfs_law(informative_fraction):
    # Zipf's law with exponent 1: the most frequent word is 5 times as frequent as the 5th
    X, y = make_text_classification(400, vocabulary_size=60, n_informative=20, mean_length=50,
                                    informative_fraction=informative_fraction, random_state=0)
    tokens = " ".join(x for x, label in zip(X, y) if label == 0).split(" ")
    assert _rank_ratio(tokens, 5) == pytest.approx(5, rel=0.2)
    n_words = len(set(tokens))
    assert n_words == 20  # 20 shared words, or class 0's 20 words
    assert all(len(set(x.split(" "))) > 1 for x in X[:20])  # each token drawn on its own


def test_every_document_has_a_word_and_each_class_its_words():
    X, _ = make_text_classification(50, mean_length=0, random_state=0)
    assert all(len(x.split(" ")) == 1 for x in X)
    X, y = make_text_classification(200, n_classes=2, vocabulary_size=41, n_informative=20,
                                    informative_fraction=1.0, random_state=0)
    words = [set(" ".join(x for x, c in zip(X, y) if c == k).split(" ")) for k in (0, 1)]
    assert len(words[0]) == len(words[1]) == 20 and not words[0] & words[1]


@pytest.mark.parametrize("options, message", [
    (dict(n_classes=1), r"^n_classes must be at least 2, got 1\.$"),
    (dict(n_informative=0), r"^n_classes \* n_informative = 0 must lie in \[2, vocabulary_size=100\)\.$"),
    (dict(n_informative=50), r"^n_classes \* n_informative = 100 must lie in \[2, vocabulary_size=100\)\.$"),
    (dict(informative_fraction=1.5), r"^informative_fraction must be in \[0, 1\], got 1\.5\.$"),
    (dict(informative_fraction=-0.1), r"^informative_fraction must be in \[0, 1\], got -0\.1\.$"),
])
def test_impossible_settings_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        make_text_classification(10, **{"vocabulary_size": 100, "n_informative": 10, **options})


def test_the_extreme_settings_are_allowed():
    for options in [dict(n_informative=1), dict(n_informative=49), dict(informative_fraction=0.0),
                    dict(informative_fraction=1.0), dict(n_classes=2)]:
        X, y = make_text_classification(10, **{"vocabulary_size": 100, "n_informative": 10,
                                               "random_state": 0, **options})
        assert len(X) == 10
