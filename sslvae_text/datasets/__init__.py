"""Text classification corpora: a synthetic generator, the paper's datasets and its sampling protocol."""

from ._corpora import (
    fetch_ag_news,
    fetch_dbpedia,
    fetch_imdb,
    fetch_yelp,
    load_ag_news,
    load_corpus,
    load_dbpedia,
    load_imdb,
    load_yelp,
)
from ._fetch import REMOTES, DatasetDownloadError, get_data_home
from ._protocol import PAPER_DATASETS, nested_stratified_subset, paper_protocol
from ._synthetic import make_text_classification

__all__ = [
    "PAPER_DATASETS",
    "make_text_classification",
    "REMOTES",
    "DatasetDownloadError",
    "fetch_ag_news",
    "fetch_dbpedia",
    "fetch_imdb",
    "fetch_yelp",
    "get_data_home",
    "load_ag_news",
    "load_corpus",
    "load_dbpedia",
    "load_imdb",
    "load_yelp",
    "nested_stratified_subset",
    "paper_protocol",
]
