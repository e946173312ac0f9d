"""Loaders and downloaders of the paper's corpora, on tiny files in the original formats."""

import csv
import gzip
import hashlib
import http.server
import os
import re
import tarfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from sslvae_text.datasets import (
    REMOTES,
    DatasetDownloadError,
    fetch_ag_news,
    fetch_dbpedia,
    fetch_imdb,
    fetch_yelp,
    get_data_home,
    load_ag_news,
    load_corpus,
    load_dbpedia,
    load_imdb,
    load_yelp,
)
from sslvae_text.datasets._fetch import RemoteFile, fetch_file

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


# --- tiny corpora in the original formats ---------------------------------------


def _write_zhang_csv(path, rows):
    # Zhang et al.'s files quote every field and have no header.
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)


AG_ROWS = [
    ("3", "Fears for pension", 'Unions say they are "disappointed" after talks.'),
    ("4", "Space race", " A second team\\nof rocketeers, with a comma. "),
    ("1", "Vote", "Counting has begun."),
    ("2", "Match", "The team won."),
]


@pytest.fixture
def ag_folder(tmp_path):
    folder = tmp_path / "ag_news_csv"
    folder.mkdir()
    _write_zhang_csv(folder / "test.csv", AG_ROWS)
    _write_zhang_csv(folder / "train.csv", AG_ROWS[::-1])
    (folder / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n")
    return folder


def _tar(folder, archive, mode):
    with tarfile.open(archive, mode) as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def test_ag_news_targets_title_join_and_zhang_escapes(ag_folder):
    test = load_ag_news(ag_folder, subset="test")
    assert test.target.tolist() == [2, 3, 0, 1]
    assert test.target.dtype == np.int64
    assert test.target_names == ["World", "Sports", "Business", "Sci/Tech"]
    assert test.data[0] == 'Fears for pension Unions say they are "disappointed" after talks.'
    # The escaped newline is undone and each field is stripped, as in Zhang's converter.
    assert test.data[1] == "Space race A second team\nof rocketeers, with a comma."
    assert test.subset == "test"
    raw = load_ag_news(ag_folder, subset="test", unescape_newlines=False, include_title=False)
    assert raw.data[1] == "A second team\\nof rocketeers, with a comma."
    assert load_ag_news(ag_folder, subset="train").target.tolist() == [1, 0, 3, 2]


def test_ag_news_reads_archive_and_gzipped_csv(ag_folder, tmp_path):
    expected = load_ag_news(ag_folder, subset="test")
    archive = _tar(ag_folder, tmp_path / "ag_news_csv.tgz", "w:gz")
    from_archive = load_ag_news(archive, subset="test")
    assert from_archive.data == expected.data
    assert from_archive.target.tolist() == expected.target.tolist()
    gz_folder = tmp_path / "gz"
    gz_folder.mkdir()
    (gz_folder / "test.csv.gz").write_bytes(gzip.compress((ag_folder / "test.csv").read_bytes()))
    assert load_ag_news(gz_folder, subset="test").data == expected.data
    X, y = load_ag_news(ag_folder, subset="test", return_X_y=True)
    assert X == expected.data and y.tolist() == expected.target.tolist()


def test_ag_news_errors_name_the_problem(ag_folder, tmp_path):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_ag_news(ag_folder, subset="dev")
    (ag_folder / "train.csv").unlink()
    with pytest.raises(FileNotFoundError, match="train.csv"):
        load_ag_news(ag_folder, subset="train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ag_news(tmp_path / "nowhere")
    _write_zhang_csv(ag_folder / "test.csv", [("5", "t", "x")])
    with pytest.raises(ValueError, match="class 5 is outside 1..4"):
        load_ag_news(ag_folder, subset="test")


def test_dbpedia_two_digit_classes(tmp_path):
    folder = tmp_path / "dbpedia_csv"
    folder.mkdir()
    rows = [(str(c), f"Title {c}", f" Abstract of class {c} .") for c in (1, 10, 11, 12, 13, 14)]
    _write_zhang_csv(folder / "test.csv", rows)
    bunch = load_dbpedia(_tar(folder, tmp_path / "dbpedia_csv.tar.gz", "w:gz"), subset="test")
    assert bunch.target.tolist() == [0, 9, 10, 11, 12, 13]
    assert bunch.target_names[13] == "WrittenWork" and len(bunch.target_names) == 14
    assert bunch.data[1] == "Title 10 Abstract of class 10 ."


# --- IMDB ---------------------------------------------------------------------

IMDB_FILES = {
    "train/pos/10_7.txt": "Great.<br /><br />Loved it.",
    "train/pos/2_9.txt": "Fine film.",
    "train/neg/3_1.txt": "Awful.",
    "train/neg/0_2.txt": "Bad <br />plot.",
    "train/unsup/11_0.txt": "Unrated one.",
    "train/unsup/1_0.txt": "Unrated two.",
    "test/pos/0_10.txt": "Superb.",
    "test/neg/0_4.txt": "Dull.",
}


@pytest.fixture(scope="module")
def imdb_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb") / "aclImdb"
    for name, text in IMDB_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "README").write_text("readme")
    return root


def test_imdb_splits_targets_and_order(imdb_folder):
    train = load_imdb(imdb_folder, subset="train")
    # neg before pos, then by numeric id (2 before 10), whatever the file system's order.
    assert train.data == ["Bad <br />plot.", "Awful.", "Fine film.", "Great.<br /><br />Loved it."]
    assert train.target.tolist() == [0, 0, 1, 1]
    assert train.target_names == ["neg", "pos"]
    assert train.filenames.tolist()[0] == "aclImdb/train/neg/0_2.txt"
    unsup = load_imdb(imdb_folder, subset="unsup")
    assert unsup.data == ["Unrated two.", "Unrated one."] and unsup.target.tolist() == [-1, -1]
    test = load_imdb(imdb_folder.parent, subset="test")  # the folder above aclImdb works too
    assert test.data == ["Dull.", "Superb."] and test.target.tolist() == [0, 1]
    cleaned = load_imdb(imdb_folder, subset="train", remove_br=True)
    assert cleaned.data[3] == "Great.  Loved it."


@pytest.mark.parametrize("mode,suffix", [("w:gz", ".tar.gz"), ("w:xz", ".tar.xz")])
def test_imdb_streams_archives(imdb_folder, tmp_path, mode, suffix):
    archive = _tar(imdb_folder, tmp_path / f"aclImdb{suffix}", mode)
    for subset in ("train", "test", "unsup"):
        from_archive = load_imdb(archive, subset=subset)
        from_folder = load_imdb(imdb_folder, subset=subset)
        assert from_archive.data == from_folder.data
        assert from_archive.target.tolist() == from_folder.target.tolist()
        assert from_archive.filenames.tolist() == from_folder.filenames.tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]  # nothing extracted


def test_imdb_empty_split_is_an_error(tmp_path):
    (tmp_path / "aclImdb" / "test" / "pos").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No review of the 'train' split"):
        load_imdb(tmp_path, subset="train")


# --- Yelp -----------------------------------------------------------------------


@pytest.fixture
def yelp_folder(tmp_path):
    folder = tmp_path / "yelp"
    folder.mkdir()
    (folder / "sentiment.test.0").write_text("bad food .\nslow service .\n", encoding="utf-8")
    (folder / "sentiment.test.1.gz").write_bytes(gzip.compress(b"great place !\n"))
    return folder


def test_yelp_plain_and_gzipped_lines(yelp_folder):
    test = load_yelp(yelp_folder, subset="test")
    assert test.data == ["bad food .", "slow service .", "great place !"]
    assert test.target.tolist() == [0, 0, 1]
    with pytest.raises(FileNotFoundError, match="sentiment.train.0"):
        load_yelp(yelp_folder, subset="train")


# --- a user's own corpus ----------------------------------------------------------


def _gz(path, text):
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_load_corpus_stand_in_formats(tmp_path):
    # jointmatch_ag_news_dev.csv.gz: header label,content, labels 1-4.
    jm = _gz(tmp_path / "dev.csv.gz",
             'label,content\n1,"Oil\\pipeline, blown up."\n3,Stocks fell.\n')
    bunch = load_corpus(jm)
    assert bunch.data == ["Oil\\pipeline, blown up.", "Stocks fell."]
    assert bunch.target.tolist() == [1, 3] and bunch.target_names == [1, 3]
    assert load_corpus(jm, label_mapping=lambda y: y - 1).target.tolist() == [0, 2]
    # hiddenkiller_clean_ag_dev.tsv.gz: header "sentence \t label", cells padded with spaces.
    hk = _gz(tmp_path / "dev.tsv.gz",
             "sentence \t label\nvote counting . \t 0\nboxing match . \t 1\n")
    bunch = load_corpus(hk)
    assert bunch.data == ["vote counting .", "boxing match ."] and bunch.target.tolist() == [0, 1]
    # DBPedia stand-in: no header, label,text, sentences joined by tabs, labels up to 13.
    db = _gz(tmp_path / "train.csv.gz", "13,First sentence .\tSecond one .\n0,Another .\n")
    bunch = load_corpus(db, header=False, label_column=0, text_column=1)
    assert bunch.data == ["First sentence .\tSecond one .", "Another ."]
    assert bunch.target.tolist() == [13, 0]
    assert load_corpus(db).target.tolist() == [13, 0]  # no header: label, text by default


def test_load_corpus_columns_mapping_and_formats(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("id,review,stars\n1,nice,good\n2,meh,bad\n", encoding="utf-8")
    bunch = load_corpus(path, text_column="review", label_column="stars")
    assert bunch.data == ["nice", "meh"] and bunch.target.tolist() == ["good", "bad"]
    mapped = load_corpus(path, text_column=1, label_column=-1, header=True,
                         label_mapping={"good": 1, "bad": 0})
    assert mapped.target.tolist() == [1, 0]
    with pytest.raises(ValueError, match="no entry for the labels \\['bad'\\]"):
        load_corpus(path, text_column="review", label_column="stars", label_mapping={"good": 1})
    with pytest.raises(ValueError, match="'text' is not among the header's columns"):
        load_corpus(path, text_column="text", label_column="stars")
    with pytest.raises(ValueError, match="Cannot tell the text and label columns apart"):
        load_corpus(path)
    unlabeled = load_corpus(path, text_column="review")
    assert unlabeled.target.tolist() == [-1, -1] and unlabeled.target_names == []
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\n1,a\n2,b,c\n")
    with pytest.raises(ValueError, match="row 3: 3 columns where 2 were expected"):
        load_corpus(bad)
    lines = _gz(tmp_path / "docs.txt.gz", "first doc\n\nthird, doc\n")
    assert load_corpus(lines).data == ["first doc", "", "third, doc"]
    odd = tmp_path / "sentiment.dev.0"
    odd.write_text("x\n")
    with pytest.raises(ValueError, match="Cannot infer the format"):
        load_corpus(odd)
    assert load_corpus(odd, format="lines").target.tolist() == [-1]
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("text\tlabel\ncaf\xe9\t0\n".encode("latin-1"))
    assert load_corpus(latin, encoding="latin-1").data == ["caf\xe9"]


# --- downloads, against a server on 127.0.0.1 ---------------------------------


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


def _serve(root, handler):
    """Start an HTTP server on 127.0.0.1 serving the folder ``root`` with ``handler``."""
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    httpd.root, httpd.url = root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.requests = []
    return httpd


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "remote"``; counts requests."""
    httpd = _serve(tmp_path / "remote", _CountingHandler)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def remote_imdb(server, imdb_folder, monkeypatch):
    archive = _tar(imdb_folder, server.root / "aclImdb_v1.tar.gz", "w:gz")
    monkeypatch.setitem(REMOTES["imdb"], "aclImdb_v1.tar.gz", RemoteFile(
        "aclImdb_v1.tar.gz", server.url + "/aclImdb_v1.tar.gz", _sha256(archive)))
    return server


def test_fetch_imdb_downloads_once_then_uses_the_cache(remote_imdb, tmp_path, imdb_folder):
    home = tmp_path / "home"
    train = fetch_imdb(subset="train", data_home=home)
    assert train.data == load_imdb(imdb_folder, subset="train").data
    assert remote_imdb.requests == ["/aclImdb_v1.tar.gz"]
    assert [p.name for p in (home / "imdb").iterdir()] == ["aclImdb_v1.tar.gz"]
    unsup = fetch_imdb(subset="unsup", data_home=home)
    assert unsup.target.tolist() == [-1, -1]
    assert len(remote_imdb.requests) == 1  # the cached archive is not fetched again


def test_checksum_mismatch_leaves_no_file(remote_imdb, tmp_path, monkeypatch):
    monkeypatch.setitem(REMOTES["imdb"], "aclImdb_v1.tar.gz", RemoteFile(
        "aclImdb_v1.tar.gz", remote_imdb.url + "/aclImdb_v1.tar.gz", "0" * 64))
    home = tmp_path / "home"
    with pytest.raises(DatasetDownloadError, match="expected 0000") as excinfo:
        fetch_imdb(data_home=home)
    assert str(home / "imdb" / "aclImdb_v1.tar.gz") in str(excinfo.value)
    assert list((home / "imdb").iterdir()) == []


def test_offline_and_no_download_errors_name_the_full_path(server, tmp_path):
    home = tmp_path / "home"
    server.shutdown()
    server.server_close()  # nothing listens on that port any more
    target = home / "yelp" / "shen2017" / "sentiment.test.0"
    with pytest.raises(DatasetDownloadError, match="Could not download") as excinfo:
        fetch_yelp(subset="test", data_home=home, base_url=server.url)
    message = str(excinfo.value)
    assert str(target) in message and server.url + "/sentiment.test.0" in message
    assert list(target.parent.iterdir()) == []  # no partial file
    with pytest.raises(DatasetDownloadError, match="download_if_missing=False") as excinfo:
        fetch_ag_news(data_home=home, download_if_missing=False)
    message = str(excinfo.value)
    assert str(home / "ag_news" / "ag_news_csv.tgz") in message
    assert REMOTES["ag_news"]["ag_news_csv.tgz"].url in message
    assert not (home / "ag_news").exists()  # nothing written when not downloading


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(DatasetDownloadError, match="404"):
        fetch_dbpedia(data_home=tmp_path / "home", base_url=server.url)


def test_unknown_checksum_warns_and_is_recorded(server, ag_folder, tmp_path):
    archive = _tar(ag_folder, server.root / "ag_news_csv.tgz", "w:gz")
    home = tmp_path / "home"
    assert REMOTES["ag_news"]["ag_news_csv.tgz"].sha256 is None
    with pytest.warns(UserWarning, match=_sha256(archive)):
        test = fetch_ag_news(subset="test", data_home=home, base_url=server.url)
    assert test.target.tolist() == [2, 3, 0, 1]
    recorded = (home / "ag_news" / "ag_news_csv.tgz.sha256").read_text()
    assert recorded.split()[0] == _sha256(archive)


def test_fetch_yelp_from_base_url(server, tmp_path, monkeypatch):
    for label, text in ((0, "bad .\n"), (1, "good .\nnice .\n")):
        (server.root / f"sentiment.test.{label}").write_text(text)
        # Li et al.'s checksums are real ones: point them at the tiny files.
        name = f"sentiment.test.{label}"
        monkeypatch.setitem(REMOTES["yelp_li2018"], name, RemoteFile(
            name, "unused", _sha256(server.root / name)))
    test = fetch_yelp(subset="test", source="li2018", data_home=tmp_path, base_url=server.url)
    assert test.data == ["bad .", "good .", "nice ."] and test.target.tolist() == [0, 1, 1]
    assert sorted(server.requests) == ["/sentiment.test.0", "/sentiment.test.1"]
    with pytest.raises(ValueError, match="subset must be one of \\['dev', 'test'\\]"):
        fetch_yelp(subset="train", source="li2018", data_home=tmp_path)


def test_get_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("SSLVAE_TEXT_DATA", raising=False)
    assert get_data_home() == Path("~/sslvae_text_data").expanduser()
    monkeypatch.setenv("SSLVAE_TEXT_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert not (tmp_path / "env").exists()  # looking the folder up does not create it


def test_remotes_table_is_complete():
    assert REMOTES["imdb"]["aclImdb_v1.tar.gz"].sha256 == (
        "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe")
    assert sorted(REMOTES["yelp"]) == [f"sentiment.{s}.{c}" for s in ("dev", "test", "train")
                                       for c in (0, 1)]
    for files in REMOTES.values():
        for name, remote in files.items():
            assert remote.filename == name and remote.url.startswith("https://")


# --- the real copies, when this checkout sits next to ../shared/data --------------

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")


def _counts(bunch):
    return dict(zip(*np.unique(bunch.target, return_counts=True)))


@needs_shared
def test_shared_ag_news_and_stand_ins():
    test = load_ag_news(SHARED / "ag_news" / "ag_news_csv", subset="test")
    assert len(test.data) == 7600 and set(_counts(test).values()) == {1900}
    sub = SHARED / "ag_news" / "train_subsets_noncanonical"
    jm = load_corpus(sub / "jointmatch_ag_news_dev.csv.gz")
    assert _counts(jm) == {1: 2000, 2: 2000, 3: 2000, 4: 2000}
    hk = load_corpus(sub / "hiddenkiller_clean_ag_dev.tsv.gz")
    assert _counts(hk) == {0: 2403, 1: 2485, 2: 2667, 3: 2445}
    db = load_corpus(SHARED / "dbpedia" / "deeptextclustering_subset" / "train.csv.gz")
    assert _counts(db) == {c: 1000 for c in range(14)}


@needs_shared
def test_shared_yelp():
    li = SHARED / "yelp" / "li2018_drg"
    assert _counts(load_yelp(li, subset="dev")) == {0: 2000, 1: 2000}
    assert _counts(load_yelp(li, subset="test")) == {0: 500, 1: 500}
    shen = SHARED / "yelp" / "shen2017_dev_test"
    assert _counts(load_yelp(shen, subset="dev")) == {0: 25278, 1: 38205}
    assert _counts(load_yelp(shen, subset="test")) == {0: 50278, 1: 76392}


@needs_shared
@pytest.mark.skipif(not os.environ.get("SSLVAE_TEXT_CHECK_IMDB"),
                    reason="reads 100,000 reviews (15 s); set SSLVAE_TEXT_CHECK_IMDB=1")
def test_shared_imdb():
    archive = SHARED / "imdb" / "aclImdb.tar.xz"
    assert _counts(load_imdb(archive, subset="train")) == {0: 12500, 1: 12500}
    assert _counts(load_imdb(archive, subset="test")) == {0: 12500, 1: 12500}
    assert _counts(load_imdb(archive, subset="unsup")) == {-1: 50000}


# --- the details of Zhang et al.'s files, and what the fetchers pass on -------------------------


def _zhang_files(folder, csv_text, classes_text):
    folder.mkdir(parents=True)
    (folder / "test.csv").write_bytes(csv_text.encode())
    (folder / "classes.txt").write_bytes(classes_text.encode())
    return folder


# a blank line, a two-field row (no title), a quoted field holding a carriage return
ZHANG_CSV = '"2","Title","First\r\nline"\n\n"1","Only text"\n"2","T","last"\n'


@pytest.mark.parametrize("layout", ["folder", "gzip", "archive", "nested archive", "flat archive"])
def test_zhang_files_read_the_same_in_every_layout(layout, tmp_path):
    folder = _zhang_files(tmp_path / "corpus", ZHANG_CSV, "Alpha\nBeta\nGamma\nDelta")
    if layout == "gzip":
        (folder / "test.csv.gz").write_bytes(gzip.compress((folder / "test.csv").read_bytes()))
        (folder / "test.csv").unlink()
        path = folder
    elif layout == "archive":
        path = _tar(folder, tmp_path / "corpus.tgz", "w:gz")
    elif layout == "nested archive":
        with tarfile.open(tmp_path / "corpus.tgz", "w:gz") as tar:
            tar.add(folder, arcname="outer/corpus")
        path = tmp_path / "corpus.tgz"
    elif layout == "flat archive":
        with tarfile.open(tmp_path / "corpus.tgz", "w:gz") as tar:
            for name in ("test.csv", "classes.txt"):
                tar.add(folder / name, arcname=name)
        path = tmp_path / "corpus.tgz"
    else:
        path = folder
    bunch = load_ag_news(path, subset="test")
    assert bunch.data == ["Title First\r\nline", "Only text", "T last"]
    assert bunch.target.tolist() == [1, 0, 1]
    # classes.txt without a final newline still names all four classes
    assert bunch.target_names == ["Alpha", "Beta", "Gamma", "Delta"]
    assert bunch.DESCR.startswith("AG News topic classification") and bunch.subset == "test"


def test_a_classes_file_of_the_wrong_length_is_ignored(tmp_path):
    folder = _zhang_files(tmp_path / "corpus", ZHANG_CSV, "Alpha\nBeta\n")
    assert load_ag_news(folder, subset="test").target_names == ["World", "Sports", "Business",
                                                                "Sci/Tech"]


@pytest.mark.parametrize("csv_text, message", [
    ('"1","a","b"\n"x"\n', r", row 2: expected class,title,text; got \['x'\]\.$"),
    ('"1","a","b"\n\n"one","a","b"\n', r", row 3: the class 'one' is not an integer\.$"),
])
def test_zhang_row_errors_name_the_file_and_row(csv_text, message, tmp_path):
    folder = _zhang_files(tmp_path / "corpus", csv_text, "")
    with pytest.raises(ValueError, match=re.escape(str(folder / "test.csv")) + message):
        load_ag_news(folder, subset="test")
    archive = _tar(folder, tmp_path / "corpus.tgz", "w:gz")
    with pytest.raises(ValueError, match=re.escape(f"{archive}:corpus/test.csv") + message):
        load_ag_news(archive, subset="test")


def test_zhang_path_errors(tmp_path):
    folder = _zhang_files(tmp_path / "corpus", ZHANG_CSV, "")
    archive = _tar(folder, tmp_path / "corpus.tgz", "w:gz")
    with pytest.raises(FileNotFoundError, match=rf"^The archive {re.escape(str(archive))} has no "
                                                r"member named train\.csv\.$"):
        load_ag_news(archive, subset="train")
    not_a_corpus = tmp_path / "notes.txt"
    not_a_corpus.write_text("hello")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(not_a_corpus))} is neither a folder "
                                         r"holding train\.csv nor a tar archive of Zhang et al\.'s "
                                         r"dbpedia CSV files\.$"):
        load_dbpedia(not_a_corpus)


@pytest.mark.parametrize("fetch, load, name", [
    (fetch_ag_news, load_ag_news, "ag_news_csv.tgz"),
    (fetch_dbpedia, load_dbpedia, "dbpedia_csv.tgz"),
])
def test_zhang_fetchers_pass_every_option_to_the_loader(fetch, load, name, server, tmp_path):
    folder = _zhang_files(tmp_path / "corpus", '"1","Title","a\\nb"\n', "")
    _write_zhang_csv(folder / "train.csv", [("2", "Other", "c\\nd")])
    _tar(folder, server.root / name, "w:gz")
    options = dict(include_title=False, unescape_newlines=False)
    with pytest.warns(UserWarning, match="checksum"):
        X, y = fetch(subset="test", data_home=tmp_path / "home", base_url=server.url,
                     return_X_y=True, **options)
    assert X == load(folder, subset="test", **options).data == ["a\\nb"] and y.tolist() == [0]
    assert [p.name for p in (tmp_path / "home").iterdir()] == [name.split("_csv")[0]]
    train = fetch(data_home=tmp_path / "home", base_url=server.url)  # cached, train by default
    assert train.data == ["Other c\nd"] and train.subset == "train"
    assert load(folder).data == train.data
    assert fetch(data_home=tmp_path / "home", download_if_missing=False).subset == "train"


def test_fetch_imdb_passes_its_options(remote_imdb, tmp_path, imdb_folder, monkeypatch):
    with pytest.raises(DatasetDownloadError, match="download_if_missing=False"):
        fetch_imdb(data_home=tmp_path / "home", download_if_missing=False)
    archive = REMOTES["imdb"]["aclImdb_v1.tar.gz"]
    monkeypatch.setitem(REMOTES["imdb"], "aclImdb_v1.tar.gz", RemoteFile(
        archive.filename, "https://unused.invalid/aclImdb_v1.tar.gz", archive.sha256))
    X, y = fetch_imdb(data_home=tmp_path / "home", base_url=remote_imdb.url, remove_br=True,
                      return_X_y=True)
    expected = load_imdb(imdb_folder, subset="train", remove_br=True)
    assert X == expected.data and y.tolist() == expected.target.tolist()
    assert "<br />" not in " ".join(X)
    assert fetch_imdb(data_home=tmp_path / "home", download_if_missing=False).subset == "train"


@pytest.mark.parametrize("name, text, options, data, target", [
    ("a.csv", "label,text\n1,a\n2,b\n", {}, ["a", "b"], [1, 2]),
    ("a.csv", "1,a\n2,b\n", {}, ["a", "b"], [1, 2]),                    # no header: label, text
    ("a.csv", "text,category\na,x\nb,y\n", {}, ["a", "b"], ["x", "y"]),
    ("a.csv", "label,body\n1,a\n", {}, ["a"], [1]),                     # the other column is text
    ("a.csv", "body,label\na,1\n", {}, ["a"], [1]),
    ("a.csv", "label,text\n", {}, [], []),                              # a header and no row
    ("a.csv", "x,label\nb,1\n", dict(text_column=0, label_column="label"), ["b"], [1]),
    ("a.csv", "1,a\n", dict(text_column=-1, label_column=-2), ["a"], [1]),
    ("reviews.v2.csv.gz", "label,text\n1,a\n", {}, ["a"], [1]),        # .gz then the format
    ("a.tab", "label\ttext\n1\ta\n", {}, ["a"], [1]),
    ("a.txt", "caf\xe9\n", dict(encoding="latin-1"), ["caf\xe9"], [-1]),
    ("a.txt.gz", "caf\xe9\n", dict(encoding="latin-1"), ["caf\xe9"], [-1]),
    ("a.csv", "a\nb\n", {}, ["a", "b"], [-1, -1]),                     # one column: text only
    ("a.csv", "id,text,label\n1,a,x\n", {}, ["a"], ["x"]),
    ("a.csv", "body,stars\na,1\n", dict(text_column="body", label_column=1), ["a"], [1]),
    ("a.csv", "body,stars\na,1\n", dict(text_column=0, label_column="stars"), ["a"], [1]),
])
def test_load_corpus_reads_columns_as_documented(name, text, options, data, target, tmp_path):
    path = tmp_path / name
    encoded = text.encode(options.get("encoding", "utf-8"))
    path.write_bytes(gzip.compress(encoded) if name.endswith(".gz") else encoded)
    bunch = load_corpus(path, **options)
    assert bunch.data == data and bunch.target.tolist() == target
    assert bunch.DESCR == f"Corpus read from {path}."
    if target == [-1]:
        assert bunch.target.dtype == np.int64 and bunch.target_names == []


@pytest.mark.parametrize("name, text, options, message", [
    ("a.csv", "a,b,c\n1,2,3\n", dict(header=True), r"^Cannot tell the text and label columns apart in the header "
                                    r"\['a', 'b', 'c'\]; pass text_column and label_column\.$"),
    ("a.csv", "text,foo\na,b\n", {}, r"^Cannot tell the text and label columns apart in the "
                                    r"header \['text', 'foo'\]"),
    ("a.csv", "1,2,3\n", {}, r"^The file has 3 columns and no header; pass text_column and "
                             r"label_column\.$"),
    ("a.csv", "1,a\n", dict(header=False, text_column="text"),
     r"^text_column='text' is a name but the file has no header; pass header=True or a column "
     r"index\.$"),
    ("a.csv", "1,a\n", dict(header=False, text_column=0, label_column="label"),
     r"^label_column='label' is a name but the file has no header"),
    ("a.csv", "label,text\n1,a\n", dict(text_column="body"),
     r"^text_column='body' is not among the header's columns \['label', 'text'\]\.$"),
    ("a.csv", "1,a\n", dict(text_column=2), r"^text_column=2 is out of range for 2 columns\.$"),
    ("a.csv", "1,a\n", dict(text_column=-3), r"^text_column=-3 is out of range for 2 columns\.$"),
    ("a.csv", "1,a\n", dict(text_column=0, label_column=5),
     r"^label_column=5 is out of range for 2 columns\.$"),
    ("a.csv", "1,a\n", dict(label_column=0), r"^label_column is given but text_column is not\.$"),
    ("a.csv", "1,a\n2,b,c\n", {}, r", row 2: 3 columns where 2 were expected\.$"),
    ("a.csv", "".join(f"{i},x\n" for i in range(1, 13)), dict(label_mapping={}),
     r"^label_mapping has no entry for the labels \[1, 10, 11, 12, 2, 3, 4, 5, 6, 7\]\.$"),
    ("a.txt", "x\n", dict(text_column=0), r"^format='lines' has no columns; leave text_column "
                                           r"and label_column to None\.$"),
    ("a.txt", "x\n", dict(label_column=0), r"^format='lines' has no columns"),
    ("a.gz", "x\n", {}, r"^Cannot infer the format of a\.gz from its suffix; pass format='csv', "
                        r"'tsv' or 'lines'\.$"),
    ("a.csv", "x\n", dict(format="xml"), r"^format must be 'csv', 'tsv', 'lines' or None; got "
                                         r"'xml'\.$"),
])
def test_load_corpus_errors_say_what_to_pass(name, text, options, message, tmp_path):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_corpus(path, **options)


def test_load_corpus_sorts_labels_that_do_not_compare_by_their_text(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("1,a\n2,b\n3,c\n")
    bunch = load_corpus(path, label_mapping=lambda y: None if y == 1 else y)
    assert bunch.target.tolist() == [None, 2, 3] and bunch.target_names == [2, 3, None]


def test_yelp_splits_and_errors(yelp_folder, tmp_path):
    (yelp_folder / "sentiment.dev.0").write_text("meh .\n")
    (yelp_folder / "sentiment.dev.1").write_text("yum .")  # no final newline
    X, y = load_yelp(yelp_folder, subset="dev", return_X_y=True)
    assert X == ["meh .", "yum ."] and y.tolist() == [0, 1]
    dev = load_yelp(yelp_folder, subset="dev")
    assert dev.DESCR.startswith("Sentence-level Yelp reviews") and dev.subset == "dev"
    (yelp_folder / "sentiment.dev.0").write_bytes(b"a\rb\nc\n")  # only \n ends a document
    assert load_yelp(yelp_folder, subset="dev").data == ["a\rb", "c", "yum ."]
    with pytest.raises(ValueError, match=rf"^{re.escape(str(yelp_folder / 'sentiment.dev.0'))} is "
                                         r"not a folder; pass the folder holding sentiment\.\* "
                                         r"files\.$"):
        load_yelp(yelp_folder / "sentiment.dev.0", subset="dev")
    with pytest.raises(ValueError, match=r"^source must be one of \['shen2017', 'li2018'\]; got "
                                         r"'li'\.$"):
        fetch_yelp(source="li", data_home=tmp_path)


def test_fetch_yelp_reads_shen_et_al_by_default(server, tmp_path, monkeypatch):
    for label in (0, 1):
        name = f"sentiment.train.{label}"
        (server.root / name).write_text(f"sentence {label} .\n")
        monkeypatch.setitem(REMOTES["yelp"], name, RemoteFile(name, "unused",
                                                               _sha256(server.root / name)))
    X, y = fetch_yelp(data_home=tmp_path, base_url=server.url, return_X_y=True)
    assert X == ["sentence 0 .", "sentence 1 ."] and y.tolist() == [0, 1]
    assert sorted(p.name for p in (tmp_path / "yelp" / "shen2017").iterdir()) == [
        "sentiment.train.0", "sentiment.train.1"]
    assert load_yelp(tmp_path / "yelp" / "shen2017").subset == "train"
    with pytest.raises(DatasetDownloadError, match="download_if_missing=False"):
        fetch_yelp(subset="test", data_home=tmp_path, download_if_missing=False)


@pytest.mark.parametrize("subset, example", [("unsup", "train/unsup/0_9.txt"),
                                             ("test", "test/pos/0_9.txt")])
def test_imdb_errors_show_the_expected_layout(subset, example, tmp_path):
    (tmp_path / "aclImdb" / "train" / "pos").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=rf"^No review of the '{subset}' split found in "
                                                rf"{re.escape(str(tmp_path))} \(expected files like "
                                                rf"aclImdb/{example}\)\.$"):
        load_imdb(tmp_path, subset=subset)
    (tmp_path / "notes.txt").write_text("not reviews")
    with pytest.raises(ValueError, match=r"notes\.txt is neither the aclImdb folder nor a tar "
                                         r"archive of it\.$"):
        load_imdb(tmp_path / "notes.txt")


def test_every_remote_file_has_an_address_ending_in_its_name_and_a_well_formed_checksum():
    assert sorted(REMOTES) == ["ag_news", "dbpedia", "imdb", "yelp", "yelp_li2018"]
    assert sorted(REMOTES["yelp_li2018"]) == [f"sentiment.{s}.{c}" for s in ("dev", "test")
                                              for c in (0, 1)]
    github = "https://raw.githubusercontent.com/"
    sources = {  # the authors' copies, or the mirror docs/datasets.md names
        "imdb": "https://ai.stanford.edu/~amaas/data/sentiment/",
        "ag_news": "https://s3.amazonaws.com/fast-ai-nlp/",
        "dbpedia": "https://s3.amazonaws.com/fast-ai-nlp/",
        "yelp": github + "shentianxiao/language-style-transfer/master/data/yelp/",
        "yelp_li2018": github + "lijuncen/Sentiment-and-Style-Transfer/master/data/yelp/",
    }
    for corpus, files in REMOTES.items():
        for name, remote in files.items():
            assert remote.filename == name and remote.url == sources[corpus] + name, remote
            if corpus in ("ag_news", "dbpedia") or name.startswith("sentiment.train"):
                assert remote.sha256 is None  # unknown: no copy was at hand to hash (see _fetch)
            else:
                assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256), remote


class _SlowHandler(_CountingHandler):
    """Sees the cache folder and the request while answering; or answers too late."""

    def do_GET(self):
        self.server.seen.append((self.headers["User-Agent"],
                                 sorted(p.name for p in self.server.cache.glob("*"))))
        time.sleep(self.server.delay)
        try:
            super().do_GET()
        except ConnectionError:  # the client gave up first (the timeout test)
            pass


@pytest.fixture
def slow_server(tmp_path):
    httpd = _serve(tmp_path / "remote", _SlowHandler)
    (httpd.root / "data.txt").write_text("payload\n")
    httpd.seen, httpd.cache, httpd.delay = [], tmp_path / "cache", 0.0
    httpd.remote = RemoteFile("data.txt", httpd.url + "/data.txt", _sha256(httpd.root / "data.txt"))
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_download_names_itself_and_writes_only_a_hidden_part_file_beside_its_target(slow_server):
    path = fetch_file(slow_server.remote, slow_server.cache)
    assert path == slow_server.cache / "data.txt" and path.read_text() == "payload\n"
    ((agent, during),) = slow_server.seen
    assert agent == "sslvae-text"
    assert len(during) == 1 and re.fullmatch(r"\.data\.txt\.\w+\.part", during[0])
    assert sorted(p.name for p in slow_server.cache.iterdir()) == ["data.txt"]


def test_a_server_slower_than_the_timeout_fails_the_download(slow_server):
    slow_server.delay = 1.5
    with pytest.raises(DatasetDownloadError, match="timed out"):
        fetch_file(slow_server.remote, slow_server.cache, timeout=0.3)
    assert list(slow_server.cache.iterdir()) == []


def test_download_errors_tell_where_to_save_the_file_by_hand(slow_server):
    path = slow_server.cache / "data.txt"
    hand = (rf"Download {re.escape(slow_server.remote.url)} yourself and save it as "
            rf"{re.escape(str(path))} \(the file name must stay the same\)\.$")
    with pytest.raises(DatasetDownloadError, match=rf"^{re.escape(str(path))} not found and "
                                                   rf"download_if_missing=False\. {hand}"):
        fetch_file(slow_server.remote, slow_server.cache, download_if_missing=False)
    wrong = RemoteFile("data.txt", slow_server.remote.url, "f" * 64)
    with pytest.raises(DatasetDownloadError, match=r"expected f{64}; it was deleted\. The server may "
                                                   r"serve a different or corrupted file\. " + hand):
        fetch_file(wrong, slow_server.cache)


def test_base_url_keeps_the_checksums_and_takes_a_final_slash(server, tmp_path, monkeypatch):
    name = "sentiment.test.0"
    (server.root / name).write_text("bad .\n")
    (server.root / "sentiment.test.1").write_text("good .\n")
    for label in (0, 1):
        monkeypatch.setitem(REMOTES["yelp_li2018"], f"sentiment.test.{label}", RemoteFile(
            f"sentiment.test.{label}", "unused", "0" * 64))
    with pytest.raises(DatasetDownloadError, match="expected 0{64}") as error:
        fetch_yelp(subset="test", source="li2018", data_home=tmp_path, base_url=server.url + "/")
    assert f"downloaded from {server.url}/{name} has" in str(error.value)  # one slash
