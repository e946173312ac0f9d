"""Loaders for the paper's four corpora and for a user's own text files."""

# SPDX-License-Identifier: BSD-3-Clause

import csv
import gzip
import io
import re
import tarfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import UNLABELED
from ._fetch import _resolve_remotes, fetch_file, get_data_home

__all__ = [
    "fetch_ag_news",
    "fetch_dbpedia",
    "fetch_imdb",
    "fetch_yelp",
    "load_ag_news",
    "load_corpus",
    "load_dbpedia",
    "load_imdb",
    "load_yelp",
]


AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
DBPEDIA_CLASSES = [
    "Company",
    "EducationalInstitution",
    "Artist",
    "Athlete",
    "OfficeHolder",
    "MeanOfTransportation",
    "Building",
    "NaturalPlace",
    "Village",
    "Animal",
    "Plant",
    "Album",
    "Film",
    "WrittenWork",
]
IMDB_CLASSES = ["neg", "pos"]
YELP_CLASSES = ["negative", "positive"]

_DESCR = {
    "ag_news": "AG News topic classification (Zhang et al., 2015): 4 classes, "
    "120,000 training and 7,600 test news articles; text = title + ' ' + description.",
    "dbpedia": "DBPedia-14 ontology classification (Zhang et al., 2015): 14 classes, "
    "560,000 training and 70,000 test Wikipedia abstracts; text = title + ' ' + abstract.",
    "imdb": "Large Movie Review Dataset (Maas et al., 2011): 25,000 training and 25,000 "
    "test reviews (0 = neg, 1 = pos) and 50,000 unlabeled ones (target -1).",
    "yelp": "Sentence-level Yelp reviews (Shen et al., 2017; Li et al., 2018): one "
    "lower-cased tokenised sentence per document, 0 = negative, 1 = positive.",
}


# --- shared helpers -----------------------------------------------------------


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_text(path, *, encoding="utf-8", newline=""):
    """Open a plain or gzipped text file; gzip is recognised by its magic bytes.

    The bytes rather than the suffix decide, so that a gzipped file saved
    without ``.gz`` (or a plain one saved with it) still reads right.
    """
    if _is_gzip(path):
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return open(path, encoding=encoding, newline=newline)


def _strip_newline(line):
    return line[:-1] if line.endswith("\n") else line


def _check_subset(subset, valid):
    if subset not in valid:
        raise ValueError(f"subset must be one of {list(valid)}; got {subset!r}.")


def _find_file(folder, name):
    """``folder/name``, or ``folder/name.gz`` if only the gzipped copy exists."""
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"Neither {folder / name} nor {folder / name}.gz exists.")


def _is_archive(path):
    return path.is_file() and tarfile.is_tarfile(path)


class _ForwardOnly(io.RawIOBase):
    """Raw reader over a member of a streamed tar archive.

    ``io.TextIOWrapper`` asks its buffer whether it can seek, which the file
    objects of a streamed archive cannot even answer.
    """

    def __init__(self, fileobj):
        self._fileobj = fileobj

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._fileobj.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _iter_archive(path):
    """Yield ``(member name, binary file)`` for each file of a tar archive.

    The archive is streamed (mode ``r|*``: gzip, bzip2 or xz), so nothing is
    extracted to disk and each member must be consumed before the next one.
    """
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            if member.isfile():
                yield member.name, archive.extractfile(member)


def _text_stream(fileobj, encoding="utf-8"):
    return io.TextIOWrapper(io.BufferedReader(_ForwardOnly(fileobj)), encoding=encoding,
                            newline="")


def _existing_path(path):
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    return path


def _make_bunch(data, target, target_names, subset, corpus, return_X_y, **extra):
    target = np.asarray(target, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=list(target_names),
        subset=subset,
        DESCR=_DESCR[corpus],
        **extra,
    )


def _corpus_folder(corpus, data_home):
    return get_data_home(data_home) / corpus


# --- AG News and DBPedia (Zhang et al., 2015) --------------------------------


def _parse_zhang_csv(stream, *, n_classes, include_title, unescape_newlines, source):
    """Parse one of Zhang et al.'s ``class,title,text`` CSV files.

    Like Zhang's own converter (Crepe's ``csv2t7b.lua``), the two characters
    ``\\n`` become a newline and each field is stripped; the fields are then
    joined by one space, as Crepe, torchtext and Hugging Face do.
    """
    data, target = [], []
    for line_no, row in enumerate(csv.reader(stream), start=1):
        if not row:
            continue
        if len(row) < 2:
            raise ValueError(f"{source}, row {line_no}: expected class,title,text; got {row!r}.")
        try:
            label = int(row[0])
        except ValueError:
            raise ValueError(
                f"{source}, row {line_no}: the class {row[0]!r} is not an integer."
            ) from None
        if not 1 <= label <= n_classes:
            raise ValueError(
                f"{source}, row {line_no}: class {label} is outside 1..{n_classes}."
            )
        fields = row[1:] if include_title else row[2:]
        if unescape_newlines:
            fields = [field.replace("\\n", "\n") for field in fields]
        data.append(" ".join(field.strip() for field in fields if field.strip()))
        target.append(label - 1)
    return data, target


def _read_classes(stream):
    return [line.strip() for line in stream if line.strip()]


def _load_zhang(path, subset, corpus, default_classes, include_title, unescape_newlines,
                return_X_y):
    _check_subset(subset, ("train", "test"))
    path = _existing_path(path)
    parse = dict(
        n_classes=len(default_classes),
        include_title=include_title,
        unescape_newlines=unescape_newlines,
    )
    wanted = f"{subset}.csv"
    classes = None
    rows = None
    if _is_archive(path):
        for name, member in _iter_archive(path):
            base = name.rsplit("/", 1)[-1]
            if base == wanted:
                rows = _parse_zhang_csv(_text_stream(member), source=f"{path}:{name}", **parse)
            elif base == "classes.txt":
                classes = _read_classes(_text_stream(member))
        if rows is None:
            raise FileNotFoundError(f"The archive {path} has no member named {wanted}.")
    elif path.is_dir():
        csv_path = _find_file(path, wanted)
        with _open_text(csv_path) as stream:
            rows = _parse_zhang_csv(stream, source=str(csv_path), **parse)
        if (path / "classes.txt").is_file():
            with _open_text(path / "classes.txt") as stream:
                classes = _read_classes(stream)
    else:
        raise ValueError(
            f"{path} is neither a folder holding {wanted} nor a tar archive of "
            f"Zhang et al.'s {corpus} CSV files."
        )
    target_names = classes if classes and len(classes) == len(default_classes) else default_classes
    data, target = rows
    return _make_bunch(data, target, target_names, subset, corpus, return_X_y)


def load_ag_news(path, *, subset="train", include_title=True, unescape_newlines=True,
                 return_X_y=False):
    """Load AG News from Zhang et al.'s CSV files.

    Parameters
    ----------
    path : str or path-like
        The ``ag_news_csv`` folder (holding ``train.csv``/``test.csv``,
        plain or gzipped) or its archive ``ag_news_csv.tar.gz``/``.tgz``,
        read without extraction.
    subset : {"train", "test"}, default="train"
        Split to load.
    include_title : bool, default=True
        If True, each document is the title, one space, then the
        description, as in Zhang et al.'s own code; if False, the
        description alone.
    unescape_newlines : bool, default=True
        Turn the two characters ``\\n`` into a newline, as Zhang et al.'s
        converter does. Doubled quotes are always undone by the CSV parser.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (list of str), ``target`` (ndarray of int, 0 to 3, i.e. the
        file's class minus 1), ``target_names``, ``subset`` and ``DESCR``.

    Examples
    --------
    >>> from sslvae_text.datasets import load_ag_news
    >>> test = load_ag_news("ag_news_csv", subset="test")  # doctest: +SKIP
    >>> len(test.data), test.target_names  # doctest: +SKIP
    (7600, ['World', 'Sports', 'Business', 'Sci/Tech'])
    """
    return _load_zhang(path, subset, "ag_news", AG_NEWS_CLASSES, include_title,
                       unescape_newlines, return_X_y)


def load_dbpedia(path, *, subset="train", include_title=True, unescape_newlines=True,
                 return_X_y=False):
    """Load DBPedia-14 from Zhang et al.'s CSV files.

    Parameters
    ----------
    path : str or path-like
        The ``dbpedia_csv`` folder (holding ``train.csv``/``test.csv``, plain
        or gzipped) or its archive ``dbpedia_csv.tar.gz``/``.tgz``, read
        without extraction.
    subset : {"train", "test"}, default="train"
        Split to load.
    include_title : bool, default=True
        If True, each document is the title, one space, then the abstract,
        as in Zhang et al.'s own code; if False, the abstract alone.
    unescape_newlines : bool, default=True
        Turn the two characters ``\\n`` into a newline, as Zhang et al.'s
        converter does. Doubled quotes are always undone by the CSV parser.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (list of str), ``target`` (ndarray of int, 0 to 13, i.e. the
        file's class minus 1, two-digit classes included), ``target_names``,
        ``subset`` and ``DESCR``.

    Examples
    --------
    >>> from sslvae_text.datasets import load_dbpedia
    >>> train = load_dbpedia("dbpedia_csv.tar.gz", subset="train")  # doctest: +SKIP
    >>> len(train.data)  # doctest: +SKIP
    560000
    """
    return _load_zhang(path, subset, "dbpedia", DBPEDIA_CLASSES, include_title,
                       unescape_newlines, return_X_y)


def _fetch_zhang(corpus, loader, *, subset, data_home, download_if_missing, base_url,
                 **kwargs):
    (remote,) = _resolve_remotes(corpus, base_url=base_url)
    archive = fetch_file(
        remote, _corpus_folder(corpus, data_home), download_if_missing=download_if_missing
    )
    return loader(archive, subset=subset, **kwargs)


def fetch_ag_news(*, subset="train", data_home=None, download_if_missing=True,
                  base_url=None, include_title=True, unescape_newlines=True,
                  return_X_y=False):
    """Load AG News, downloading Zhang et al.'s archive on first use.

    The archive ``ag_news_csv.tgz`` is cached in ``<data_home>/ag_news/``
    and read from there without extraction; see :func:`load_ag_news` for the
    parsing.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Split to load.
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise an error instead of downloading a missing archive.
    base_url : str, default=None
        Download from this folder address instead of ``REMOTES["ag_news"]``.
    include_title : bool, default=True
        See :func:`load_ag_news`.
    unescape_newlines : bool, default=True
        See :func:`load_ag_news`.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        As :func:`load_ag_news`.

    Examples
    --------
    >>> from sslvae_text.datasets import fetch_ag_news
    >>> test = fetch_ag_news(subset="test")  # doctest: +SKIP
    """
    return _fetch_zhang(
        "ag_news", load_ag_news, subset=subset, data_home=data_home,
        download_if_missing=download_if_missing, base_url=base_url,
        include_title=include_title, unescape_newlines=unescape_newlines,
        return_X_y=return_X_y,
    )


def fetch_dbpedia(*, subset="train", data_home=None, download_if_missing=True,
                  base_url=None, include_title=True, unescape_newlines=True,
                  return_X_y=False):
    """Load DBPedia-14, downloading Zhang et al.'s archive on first use.

    The archive ``dbpedia_csv.tgz`` is cached in ``<data_home>/dbpedia/``
    and read from there without extraction; see :func:`load_dbpedia` for the
    parsing.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Split to load.
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise an error instead of downloading a missing archive.
    base_url : str, default=None
        Download from this folder address instead of ``REMOTES["dbpedia"]``.
    include_title : bool, default=True
        See :func:`load_dbpedia`.
    unescape_newlines : bool, default=True
        See :func:`load_dbpedia`.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        As :func:`load_dbpedia`.

    Examples
    --------
    >>> from sslvae_text.datasets import fetch_dbpedia
    >>> test = fetch_dbpedia(subset="test")  # doctest: +SKIP
    """
    return _fetch_zhang(
        "dbpedia", load_dbpedia, subset=subset, data_home=data_home,
        download_if_missing=download_if_missing, base_url=base_url,
        include_title=include_title, unescape_newlines=unescape_newlines,
        return_X_y=return_X_y,
    )


# --- IMDB (Maas et al., 2011) -------------------------------------------------

# <split>/<label>/<id>_<rating>.txt, wherever the aclImdb tree sits in the archive
_IMDB_NAME = re.compile(r"(?:^|/)(train|test)/(neg|pos|unsup)/(\d+)_\d+\.txt$")
_IMDB_TARGET = {"neg": 0, "pos": 1, "unsup": UNLABELED}
_BR = re.compile(r"<br\s*/?>", flags=re.IGNORECASE)


def _imdb_wanted(name, subset):
    """``(target, id)`` if member ``name`` belongs to ``subset``, else None."""
    match = _IMDB_NAME.search(name)
    if match is None:
        return None
    split, label, doc_id = match.groups()
    in_subset = (label == "unsup") if subset == "unsup" else (split == subset and label != "unsup")
    return (_IMDB_TARGET[label], int(doc_id)) if in_subset else None


def _imdb_from_archive(path, subset):
    for name, member in _iter_archive(path):
        key = _imdb_wanted(name, subset)
        if key is not None:
            yield key, name, member.read().decode("utf-8")


def _imdb_root(path):
    if (path / "aclImdb").is_dir():
        return path / "aclImdb"
    return path


def _imdb_from_folder(path, subset):
    root = _imdb_root(path)
    for file in root.glob("*/*/*.txt"):
        name = file.relative_to(root.parent).as_posix()
        key = _imdb_wanted(name, subset)
        if key is not None:
            with _open_text(file) as stream:
                yield key, name, stream.read()


def load_imdb(path, *, subset="train", remove_br=False, return_X_y=False):
    """Load the IMDB reviews of Maas et al. (2011).

    Parameters
    ----------
    path : str or path-like
        The ``aclImdb`` folder (or the folder holding it), or the archive
        ``aclImdb_v1.tar.gz`` (or a ``.tar.xz``/``.tar.bz2`` recompression),
        streamed without extraction.
    subset : {"train", "test", "unsup"}, default="train"
        Split to load; ``"unsup"`` is ``train/unsup``, whose target is -1.
    remove_br : bool, default=False
        If True, replace each ``<br />`` tag by a space. By default the
        markup is kept, as in the paper.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (list of str), ``target`` (ndarray of int: 0 = neg, 1 = pos,
        -1 = unlabeled), ``target_names`` (``["neg", "pos"]``),
        ``filenames`` (path of each review inside the archive or below the
        folder above ``aclImdb``), ``subset`` and ``DESCR``. Reviews are
        sorted by target, then by numeric id, so the order does not depend on
        the archive's or the file system's.

    Examples
    --------
    >>> from sslvae_text.datasets import load_imdb
    >>> unsup = load_imdb("aclImdb_v1.tar.gz", subset="unsup")  # doctest: +SKIP
    >>> len(unsup.data), set(unsup.target)  # doctest: +SKIP
    (50000, {-1})
    """
    _check_subset(subset, ("train", "test", "unsup"))
    path = _existing_path(path)
    if _is_archive(path):
        entries = _imdb_from_archive(path, subset)
    elif path.is_dir():
        entries = _imdb_from_folder(path, subset)
    else:
        raise ValueError(f"{path} is neither the aclImdb folder nor a tar archive of it.")
    entries = sorted(entries, key=lambda entry: entry[0])
    if not entries:
        raise FileNotFoundError(
            f"No review of the {subset!r} split found in {path} "
            f"(expected files like aclImdb/{'train' if subset == 'unsup' else subset}/"
            f"{'unsup' if subset == 'unsup' else 'pos'}/0_9.txt)."
        )
    data = [_BR.sub(" ", text) if remove_br else text for _, _, text in entries]
    target = [key[0] for key, _, _ in entries]
    filenames = np.asarray([name for _, name, _ in entries])
    return _make_bunch(data, target, IMDB_CLASSES, subset, "imdb", return_X_y,
                       filenames=filenames)


def fetch_imdb(*, subset="train", data_home=None, download_if_missing=True, base_url=None,
               remove_br=False, return_X_y=False):
    """Load IMDB, downloading ``aclImdb_v1.tar.gz`` (84 MB) on first use.

    The archive is cached in ``<data_home>/imdb/`` and streamed from there
    at each call (a few seconds); see :func:`load_imdb`.

    Parameters
    ----------
    subset : {"train", "test", "unsup"}, default="train"
        Split to load; ``"unsup"`` has target -1.
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise an error instead of downloading a missing archive.
    base_url : str, default=None
        Download from this folder address instead of ``REMOTES["imdb"]``.
    remove_br : bool, default=False
        If True, replace each ``<br />`` tag by a space.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        As :func:`load_imdb`.

    Examples
    --------
    >>> from sslvae_text.datasets import fetch_imdb
    >>> train = fetch_imdb(subset="train")  # doctest: +SKIP
    """
    (remote,) = _resolve_remotes("imdb", base_url=base_url)
    archive = fetch_file(
        remote, _corpus_folder("imdb", data_home), download_if_missing=download_if_missing
    )
    return load_imdb(archive, subset=subset, remove_br=remove_br, return_X_y=return_X_y)


# --- Yelp (Shen et al., 2017; Li et al., 2018) --------------------------------

_YELP_SOURCES = {"shen2017": ("train", "dev", "test"), "li2018": ("dev", "test")}


def _read_lines(path, encoding="utf-8"):
    # newline="\n": a stray carriage return inside a sentence must not split it.
    with _open_text(path, encoding=encoding, newline="\n") as stream:
        return [_strip_newline(line) for line in stream]


def load_yelp(path, *, subset="train", return_X_y=False):
    """Load the sentence-level Yelp corpus of Shen et al. (2017) / Li et al. (2018).

    Parameters
    ----------
    path : str or path-like
        Folder holding ``sentiment.<subset>.0`` (negative) and
        ``sentiment.<subset>.1`` (positive), plain or gzipped (``.gz``).
    subset : {"train", "dev", "test"}, default="train"
        Split to load. Li et al.'s 1,000-sentence test set is the paper's.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (list of str, one line each, newline removed), ``target``
        (ndarray of int, 0 = negative, 1 = positive), ``target_names``,
        ``subset`` and ``DESCR``. Negative sentences come first, each file in
        its own order.

    Examples
    --------
    >>> from sslvae_text.datasets import load_yelp
    >>> test = load_yelp("yelp", subset="test")  # doctest: +SKIP
    """
    _check_subset(subset, ("train", "dev", "test"))
    folder = _existing_path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; pass the folder holding sentiment.* files.")
    data, target = [], []
    for label in (0, 1):
        lines = _read_lines(_find_file(folder, f"sentiment.{subset}.{label}"))
        data.extend(lines)
        target.extend([label] * len(lines))
    return _make_bunch(data, target, YELP_CLASSES, subset, "yelp", return_X_y)


def fetch_yelp(*, subset="train", source="shen2017", data_home=None, download_if_missing=True,
               base_url=None, return_X_y=False):
    """Load the sentence-level Yelp corpus, downloading its files on first use.

    Parameters
    ----------
    subset : {"train", "dev", "test"}, default="train"
        Split to load.
    source : {"shen2017", "li2018"}, default="shen2017"
        Whose files: Shen et al.'s (train 443k, dev 63k, test 127k sentences)
        or Li et al.'s (dev 4,000, test 1,000: the paper's test set; no train
        split). Li et al.'s test sentences all occur in Shen et al.'s dev.
    data_home : str or path-like, default=None
        Cache folder; files go to ``<data_home>/yelp/<source>/``.
    download_if_missing : bool, default=True
        If False, raise an error instead of downloading missing files.
    base_url : str, default=None
        Download from this folder address instead of ``REMOTES``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        As :func:`load_yelp`.

    Examples
    --------
    >>> from sslvae_text.datasets import fetch_yelp
    >>> test = fetch_yelp(subset="test", source="li2018")  # doctest: +SKIP
    """
    if source not in _YELP_SOURCES:
        raise ValueError(f"source must be one of {list(_YELP_SOURCES)}; got {source!r}.")
    if subset not in _YELP_SOURCES[source]:
        raise ValueError(
            f"subset must be one of {list(_YELP_SOURCES[source])} for source={source!r}; "
            f"got {subset!r}."
        )
    corpus = "yelp" if source == "shen2017" else "yelp_li2018"
    folder = get_data_home(data_home) / "yelp" / source
    names = [f"sentiment.{subset}.{label}" for label in (0, 1)]
    for remote in _resolve_remotes(corpus, names, base_url=base_url):
        fetch_file(remote, folder, download_if_missing=download_if_missing)
    return load_yelp(folder, subset=subset, return_X_y=return_X_y)


# --- a user's own corpus -----------------------------------------------------

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "lines"}
_LABEL_NAMES = ("label", "labels", "class", "target", "y", "category", "sentiment")
_TEXT_NAMES = ("text", "content", "sentence", "review", "document", "description")
_INT = re.compile(r"[+-]?\d+")


def _infer_format(path):
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise ValueError(
        f"Cannot infer the format of {path.name} from its suffix; pass "
        "format='csv', 'tsv' or 'lines'."
    )


def _find_name(names, candidates):
    lowered = [name.strip().lower() for name in names]
    for candidate in candidates:
        if candidate in lowered:
            return lowered.index(candidate)
    return None


def _column_index(spec, names, n_columns, role):
    """Index of the column ``spec`` (a name or an int), checked against the row."""
    if isinstance(spec, str):
        if names is None:
            raise ValueError(f"{role}={spec!r} is a name but the file has no header; "
                             "pass header=True or a column index.")
        stripped = [name.strip() for name in names]
        if spec.strip() not in stripped:
            raise ValueError(f"{role}={spec!r} is not among the header's columns {stripped}.")
        return stripped.index(spec.strip())
    index = int(spec)
    if not -n_columns <= index < n_columns:
        raise ValueError(f"{role}={spec} is out of range for {n_columns} columns.")
    return index % n_columns


def _default_columns(names, n_columns):
    """(text, label) column indices when the user named neither."""
    if n_columns == 1:
        return 0, None
    if names is None:
        if n_columns == 2:
            return 1, 0  # label first, as in Zhang et al.'s and fastText's files
        raise ValueError(f"The file has {n_columns} columns and no header; pass "
                         "text_column and label_column.")
    label = _find_name(names, _LABEL_NAMES)
    text = _find_name(names, _TEXT_NAMES)
    if text is None and label is not None and n_columns == 2:
        text = 1 - label
    if text is None or label is None:
        raise ValueError(f"Cannot tell the text and label columns apart in the header "
                         f"{[name.strip() for name in names]}; pass text_column and label_column.")
    return text, label


def _has_header(first_row, text_column, label_column, header):
    if header != "infer":
        return bool(header)
    if isinstance(text_column, str) or isinstance(label_column, str):
        return True
    # Without column names to go by, a first row naming a known column is a header.
    return _find_name(first_row, _LABEL_NAMES + _TEXT_NAMES) is not None


def _convert_labels(raw, label_mapping):
    labels = [value.strip() for value in raw]
    if labels and all(_INT.fullmatch(value) for value in labels):
        labels = [int(value) for value in labels]
    if label_mapping is None:
        return labels
    if callable(label_mapping):
        return [label_mapping(value) for value in labels]
    missing = sorted({value for value in labels if value not in label_mapping}, key=str)
    if missing:
        raise ValueError(f"label_mapping has no entry for the labels {missing[:10]}.")
    return [label_mapping[value] for value in labels]


def _target_names(target):
    labeled = [value for value in target.tolist() if value != UNLABELED]
    try:
        return np.unique(np.asarray(labeled)).tolist()
    except TypeError:  # labels of mixed types cannot be compared
        return sorted(set(labeled), key=str)


def _read_table(path, delimiter, encoding, text_column, label_column, header):
    with _open_text(path, encoding=encoding) as stream:
        rows = [row for row in csv.reader(stream, delimiter=delimiter) if row]
    if not rows:
        return [], None
    names = rows[0] if _has_header(rows[0], text_column, label_column, header) else None
    if names is not None:
        rows = rows[1:]
    n_columns = len(names) if names is not None else len(rows[0])  # no header: rows is not empty
    if text_column is None and label_column is None:
        text_index, label_index = _default_columns(names, n_columns)
    else:
        if text_column is None:
            raise ValueError("label_column is given but text_column is not.")
        text_index = _column_index(text_column, names, n_columns, "text_column")
        label_index = (None if label_column is None
                       else _column_index(label_column, names, n_columns, "label_column"))
    first_line = 2 if names is not None else 1
    for offset, row in enumerate(rows):
        if len(row) != n_columns:
            raise ValueError(f"{path}, row {offset + first_line}: {len(row)} columns where "
                             f"{n_columns} were expected.")
    data = [row[text_index].strip() for row in rows]
    raw_labels = None if label_index is None else [row[label_index] for row in rows]
    return data, raw_labels


def load_corpus(path, *, format=None, text_column=None, label_column=None, header="infer",
                label_mapping=None, encoding="utf-8", return_X_y=False):
    """Load a labelled (or unlabelled) corpus from a CSV, TSV or text file.

    Parameters
    ----------
    path : str or path-like
        The file, plain or gzipped (recognised by its content, not its name).
    format : {"csv", "tsv", "lines"} or None, default=None
        ``"csv"`` and ``"tsv"`` are delimited tables read with Python's
        :mod:`csv` module (doubled quotes, quoted newlines); ``"lines"`` is
        one document per line, without labels. None infers it from the
        suffix, ignoring ``.gz``: ``.csv``, ``.tsv``/``.tab``, ``.txt``.
    text_column, label_column : str or int, default=None
        Column of the text and of the label, by header name or by index.
        When both are None: a one-column table is text only; with a header,
        columns named like ``text``/``content``/``sentence`` and
        ``label``/``class``/``target`` are used; without one, a two-column
        table is read as ``label, text``. A table with ``label_column=None``
        but ``text_column`` given has no labels.
    header : bool or "infer", default="infer"
        Whether the first row names the columns. ``"infer"`` says yes when
        a column is given by name, or when the first row holds a known column
        name such as ``label`` or ``text``.
    label_mapping : dict or callable, default=None
        Applied to every label after reading, e.g. ``{1: "World"}`` or
        ``lambda y: y - 1``. A dict must cover every label.
    encoding : str, default="utf-8"
        Text encoding of the file.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (list of str: table cells without surrounding whitespace,
        or whole lines without their newline), ``target``
        (ndarray: labels as read, ints when every label is an integer,
        strings otherwise, then mapped; -1 for every row of a file without
        labels) and ``target_names`` (the distinct labels but -1, sorted).

    Examples
    --------
    >>> import os, tempfile
    >>> from sslvae_text.datasets import load_corpus
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "reviews.tsv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("sentence\\tlabel\\ngreat film\\tpos\\nawful plot\\tneg\\n")
    >>> corpus = load_corpus(path)
    >>> corpus.data, corpus.target.tolist(), corpus.target_names
    (['great film', 'awful plot'], ['pos', 'neg'], ['neg', 'pos'])
    """
    path = _existing_path(path)
    if format is None:
        format = _infer_format(path)
    if format not in ("csv", "tsv", "lines"):
        raise ValueError(f"format must be 'csv', 'tsv', 'lines' or None; got {format!r}.")
    if format == "lines":
        if text_column is not None or label_column is not None:
            raise ValueError("format='lines' has no columns; leave text_column and "
                             "label_column to None.")
        data, raw_labels = _read_lines(path, encoding), None
    else:
        delimiter = "," if format == "csv" else "\t"
        data, raw_labels = _read_table(path, delimiter, encoding, text_column, label_column,
                                       header)
    if raw_labels is None:
        target = np.full(len(data), UNLABELED, dtype=np.int64)
    else:
        target = np.asarray(_convert_labels(raw_labels, label_mapping))
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=_target_names(target),
                 DESCR=f"Corpus read from {path}.")
