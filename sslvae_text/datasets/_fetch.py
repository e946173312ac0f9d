"""Download, cache and checksum the paper's corpora."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import http.client
import os
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REMOTES", "DatasetDownloadError", "RemoteFile", "fetch_file", "get_data_home"]

DATA_HOME_ENV = "SSLVAE_TEXT_DATA"

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """Where a corpus file comes from and what its content must hash to.

    Parameters
    ----------
    filename : str
        Name of the file in the cache folder.
    url : str
        Public address of the file.
    sha256 : str or None
        Expected SHA-256 of the file. ``None`` means the checksum is not
        known: the download is then accepted with a warning and the computed
        checksum is recorded next to the file.
    """

    filename: str
    url: str
    sha256: str | None


def _remote_table():
    imdb = {
        "aclImdb_v1.tar.gz": RemoteFile(
            "aclImdb_v1.tar.gz",
            "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        )
    }
    # Zhang et al.'s own copies sit on Google Drive behind a confirmation page
    # that plain urllib cannot pass; fast.ai's S3 mirror serves the same
    # archives over plain HTTPS. Their checksums were not verified.
    ag_news = {
        "ag_news_csv.tgz": RemoteFile(
            "ag_news_csv.tgz", "https://s3.amazonaws.com/fast-ai-nlp/ag_news_csv.tgz", None
        )
    }
    dbpedia = {
        "dbpedia_csv.tgz": RemoteFile(
            "dbpedia_csv.tgz", "https://s3.amazonaws.com/fast-ai-nlp/dbpedia_csv.tgz", None
        )
    }
    shen = ("https://raw.githubusercontent.com/shentianxiao/language-style-transfer/"
            "master/data/yelp/")
    # dev/test checksums are those of the uncompressed copies of Shen et al.'s
    # files at commit f078a9d3, not checked against the server; no copy of
    # train was at hand, so its checksum is unknown.
    shen_sha = {
        "sentiment.dev.0": "405ef6d4bfbc8bb92c3c55b496f315069cb5edb49ed34a07b1206341b83c344b",
        "sentiment.dev.1": "3509f6573411bbda2d5c071ed72ad276c12356c15c06205b8fdf74b217970c61",
        "sentiment.test.0": "b7466e8859e9948892a859af7938a82c801c99b69f884014082fd072a155bbf2",
        "sentiment.test.1": "a66e0ec3f0e1230ad4d2c822750a381cf6d99a99fa9b5ae79546f21ff79ed5c3",
    }
    yelp = {
        name: RemoteFile(name, shen + name, shen_sha.get(name))
        for name in _yelp_names(("train", "dev", "test"))
    }
    li = ("https://raw.githubusercontent.com/lijuncen/Sentiment-and-Style-Transfer/"
          "master/data/yelp/")
    li_sha = {
        "sentiment.dev.0": "085ac5d10594f7a433c00c13a8cb10940a43b4a0d777d2d99b265a639fdfcfec",
        "sentiment.dev.1": "b9c49b3b9b761cdd3daa3ca554aaaf97d3f3a46b264894f483704a8d6c143f07",
        "sentiment.test.0": "29f23d6fe163a85ffe0aad31d54435bb8a65c3837767bebcd718f2c47d201cc4",
        "sentiment.test.1": "e42be2064b93be77b223e67d1ae3d297bbc6a38195017f3f195c1e3b58f72077",
    }
    yelp_li2018 = {
        name: RemoteFile(name, li + name, li_sha[name]) for name in _yelp_names(("dev", "test"))
    }
    return {
        "imdb": imdb,
        "ag_news": ag_news,
        "dbpedia": dbpedia,
        "yelp": yelp,
        "yelp_li2018": yelp_li2018,
    }


def _yelp_names(splits):
    return [f"sentiment.{split}.{label}" for split in splits for label in (0, 1)]


#: Public address and SHA-256 of every file the ``fetch_*`` functions download,
#: by corpus then file name. Edit it (or pass ``base_url``) to use a mirror.
REMOTES = _remote_table()


def get_data_home(data_home=None):
    """Return the folder where downloaded corpora are cached.

    The folder is, in order of precedence: ``data_home`` when given, the
    ``SSLVAE_TEXT_DATA`` environment variable when set, else
    ``~/sslvae_text_data``. It is not created here: only a download creates
    it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of the default.

    Returns
    -------
    data_home : pathlib.Path
        The cache folder, with ``~`` expanded.

    Examples
    --------
    >>> from sslvae_text.datasets import get_data_home
    >>> str(get_data_home("/tmp/corpora"))
    '/tmp/corpora'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or "~/sslvae_text_data"
    return Path(data_home).expanduser()


class DatasetDownloadError(OSError):
    """A corpus file is missing from the cache and could not be downloaded."""


def _manual_instructions(remote, path):
    return (
        f"Download {remote.url} yourself and save it as {path} "
        "(the file name must stay the same)."
    )


def _download(remote, folder, timeout):
    """Download ``remote`` to a temporary file of ``folder``; return its path and hash.

    The temporary file sits in the cache folder itself so that the final
    ``os.replace`` is an atomic rename on the same file system.
    """
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{remote.filename}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(remote.url, headers={"User-Agent": "sslvae-text"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
    except BaseException:
        # KeyboardInterrupt included: never leave a partial file behind.
        os.unlink(tmp)
        raise
    return Path(tmp), digest.hexdigest()


def fetch_file(remote, folder, *, download_if_missing=True, timeout=60):
    """Return the path of a cached corpus file, downloading it if needed.

    A file already in ``folder`` is used as it is, without any request. A
    download goes to a temporary file in ``folder``, which is renamed to its
    final name only once its SHA-256 matches ``remote.sha256``.

    Parameters
    ----------
    remote : RemoteFile
        The file to get.
    folder : str or path-like
        Cache folder of the corpus; created when a download is needed.
    download_if_missing : bool, default=True
        If False, raise an error instead of downloading a missing file.
    timeout : float, default=60
        Seconds to wait for the server before giving up.

    Returns
    -------
    path : pathlib.Path
        Path of the file in ``folder``.

    Raises
    ------
    DatasetDownloadError
        If the file is missing and cannot be downloaded, or its checksum
        differs. The message says where the file comes from and the full
        path to save it under.
    """
    folder = Path(folder)
    path = folder / remote.filename
    if path.is_file():
        return path
    if not download_if_missing:
        raise DatasetDownloadError(
            f"{path} not found and download_if_missing=False. "
            + _manual_instructions(remote, path)
        )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        tmp, sha256 = _download(remote, folder, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # OSError covers offline machines, HTTP errors (URLError) and timeouts;
        # HTTPException a connection cut mid-file; ValueError a malformed address.
        raise DatasetDownloadError(
            f"Could not download {remote.url}: {exc}. " + _manual_instructions(remote, path)
        ) from exc
    if remote.sha256 is not None and sha256 != remote.sha256.lower():
        tmp.unlink()
        raise DatasetDownloadError(
            f"The file downloaded from {remote.url} has SHA-256 {sha256}, "
            f"expected {remote.sha256}; it was deleted. The server may serve a "
            "different or corrupted file. " + _manual_instructions(remote, path)
        )
    os.replace(tmp, path)
    if remote.sha256 is None:
        # Record what was received so later runs can be compared with it.
        path.with_name(path.name + ".sha256").write_text(f"{sha256}  {path.name}\n")
        warnings.warn(
            f"No checksum is known for {remote.url}; the downloaded file {path} "
            f"has SHA-256 {sha256} (recorded in {path.name}.sha256).",
            UserWarning,
            stacklevel=2,
        )
    return path


def _resolve_remotes(corpus, names=None, *, base_url=None):
    """Remote files ``names`` (all when None) of ``corpus``, from ``base_url`` if given."""
    table = REMOTES[corpus]
    remotes = [table[name] for name in (table if names is None else names)]
    if base_url is not None:
        base = base_url.rstrip("/") + "/"
        remotes = [RemoteFile(r.filename, base + r.filename, r.sha256) for r in remotes]
    return remotes
