"""What the paper-reproduction scripts share (``table2_accuracy.py`` ... ``table5_label_amounts.py``).

One module per concern:

- ``paper``: the paper's datasets, objectives, published numbers and sweep sizes;
- ``corpora``: a data folder laid out like ``shared/data`` into the protocol's runs, stand-ins included;
- ``settings``: the settings that change a fit (``FitSettings``): the command line makes them, every
  job carries them, and they build the estimator and the fingerprint of a sweep's records;
- ``fits``: one fit of one (dataset, objective, run, alpha), and the classic peers;
- ``runlog``: the resumable record of finished fits (``runs.jsonl``);
- ``dispatch``: running a sweep through joblib (loky or dask), with progress lines;
- ``reports``: alpha selection on the validation folds, summaries, CSV and Markdown;
- ``speed``: the time of one iteration of every variant (Table 3);
- ``cli``: the options the scripts share.

Not a public package: the scripts in this folder import it (``python examples/table2_accuracy.py``
puts ``examples/`` on ``sys.path``).
"""

from .paper import (
    DATASETS, DISPLAY, LINEAR_SSVAE, MAX_LENGTH, N_CLASSES, OBJECTIVES, PEERS, OBJECTIVE_IDS, ALPHAS,
    PROPORTIONS, PAPER_TABLE2, PAPER_TABLE3, PAPER_TABLE4, PAPER_TABLE5, FULL_PROTOCOL,
    QUICK_PROTOCOL, QUICK_PARAMS, PAPER_MODEL, PAPER_SCHEDULE, QUICK_SPEED_ITERATIONS,
)
from .corpora import load_runs, load_all
from .settings import FitSettings
from .fits import make_peer, has_alpha, fit_one, torch_threads, KEY_FIELDS, describe
from .runlog import RunLog
from .dispatch import sweep, run_jobs, hms, make_jobs
from .reports import (
    select_alpha, selected_runs, mean_std, paired_test, fmt, markdown_table, write_csv,
    write_text, CSV_FIELDS, csv_rows, header_lines, cell, runs_note,
)
from .speed import ARCHITECTURES, time_iterations
from .cli import parser, finish_args, import_pyplot
