"""Training-speed benchmark of sslvae_text: real tokens per second, seconds per update and the
fraction of the machine's matrix-multiply peak reached, per objective and per dataset shape.

It times the package's own training step: the module is :class:`sslvae_text.model.SSVAE` built
with the estimators' default sizes, the loss is :func:`sslvae_text.objective.ssvae_loss` (or
``supervised_loss``), batches are ``batch_size`` labeled + ``batch_size`` unlabeled random
documents drawn with the estimators' length bucketing (``sslvae_text.text.bucketed_batches``)
and padded with ``sslvae_text.text.pad_batch``, then the estimator's AdamW
(``sslvae_text.model.make_optimizer``: lr 4e-3, betas 0.9/0.99, no decay) takes a step --
what ``SSVAETextClassifier.fit`` does at every update.

Document lengths follow N(mean, 0.27 * mean) clipped to [2, max] (as the yardstick draws them);
word ids are drawn from a Zipf law over the vocabulary (id 1 most frequent, as the package's
frequency-ordered vocabulary gives in real text; ``--tokens uniform`` draws them uniformly like
the yardstick). The full softmax does the same work either way; the adaptive softmax's cost
depends on how many targets fall in its tail clusters, so only Zipf is realistic for it.

Configurations of one shape are timed round-robin (one update of each in turn), so that the
noise of a shared machine hits all of them alike and the ratios printed in one run hold even
when the absolute numbers drift.

FLOPs are counted analytically per real (non-padding) token, matrix multiplications only
(E embedding size, He encoder units per direction, Hd decoder units, V vocabulary,
dy/dz sizes of the y embedding and of z; 2 FLOPs per multiply-add):

    encoder BiLSTM      2 directions x 2 * 4He * (E + He)           (twice with z's own encoder)
    decoder LSTM        2 * 4Hd * (E + dy + dz + Hd)               (dz = 0 without z)
    full softmax        2 * Hd * V
    adaptive softmax    2 * Hd * (c0 + n_tails)   for every token (the head), plus
                        2 * (Hd * h_i + h_i * n_i) for a token of tail cluster i
                        (h_i = Hd // div_value**(i+1) units, n_i words in the cluster)

plus per document the q(y|x), q(z|x) heads and the y table (negligible); the supervised
baseline has only the encoder and q(y|x). The backward pass costs twice the forward one,
so an update costs 3x the forward FLOPs. Elementwise work (LSTM gates' nonlinearities,
softmax, dropout, the optimizer) is not counted: it is the share of time the peak misses.
The peak is measured here with a large float32 ``torch.matmul`` (bfloat16 for bf16 autocast).

Examples::

    python examples/benchmark_speed.py                                  # ag_news, imdb and yelp, every objective
    python examples/benchmark_speed.py --shapes ag_news --objectives ssvae,ssvae-kl-z \\
        --yardstick /path/to/naive_ssvae_step.py                        # side by side
    python examples/benchmark_speed.py --shapes ag_news --objectives ssvae-kl-z \\
        --output-layer full,adaptive --autocast none,bf16 --threads 1,2 --steps 10 --csv speed.csv
    python examples/benchmark_speed.py --compare ../other-checkout     # two versions, one run

On a machine shared with other jobs, use ``--threads 1`` or ``OMP_WAIT_POLICY=PASSIVE``: two
torch threads whose second core is taken can run ten times slower than one. See docs/speed.md.
"""

import argparse
import csv
import importlib.util
import inspect
import itertools
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import sslvae_text
from _experiments.paper import MEAN_LENGTH, VARIANTS, variant_id
from sslvae_text.datasets import PAPER_DATASETS
from sslvae_text.embeddings import DEFAULT_DIM
from sslvae_text.model import adaptive_cutoffs
from sslvae_text.text import bucketed_batches, pad_batch

# classes, mean and max document length in tokens
SHAPES = {name: dict(shape, mean_length=MEAN_LENGTH[name]) for name, shape in PAPER_DATASETS.items()}
OBJECTIVES = {"supervised": "Supervised", **{variant_id(name): name for name in VARIANTS}}
# AG News-sized run (4,000 labeled + 10,000 unlabeled): a typical number of updates before the
# default schedule stops early (3,756-7,825 in Yelp's Table 2 runs; an estimate, the real number
# depends on the data and the seed).
TYPICAL_UPDATES = (4000, 8000)
# Time what fit runs unless told otherwise.
_ESTIMATOR_OUTPUT_LAYER = inspect.signature(sslvae_text.SSVAETextClassifier).parameters["output_layer"].default


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="ag_news,imdb,yelp",
                    help=f"comma-separated, among {','.join(SHAPES)} (default: ag_news,imdb,yelp)")
    ap.add_argument("--objectives", default=",".join(OBJECTIVES),
                    help=f"comma-separated, among {','.join(OBJECTIVES)} (default: all)")
    ap.add_argument("--device", default="auto",
                    help="cpu, cuda, or a comma-separated list; auto: cpu, and cuda when present")
    ap.add_argument("--steps", type=int, default=4, help="timed updates per configuration")
    ap.add_argument("--warmup", type=int, default=1, help="untimed updates first")
    ap.add_argument("--threads", default=None,
                    help="torch CPU threads, or a comma-separated list to compare (default: torch's)")
    ap.add_argument("--output-layer", default=_ESTIMATOR_OUTPUT_LAYER,
                    help="full, adaptive, or full,adaptive to compare (SSVAE objectives; "
                         "default: the estimator's)")
    ap.add_argument("--cutoffs", default=None,
                    help="adaptive softmax cutoffs, e.g. 1000,4000; several sets separated by ';' "
                         "are timed side by side (default: the package's, model.adaptive_cutoffs)")
    ap.add_argument("--div-value", type=float, default=None,
                    help="adaptive softmax div_value (default: the package's)")
    ap.add_argument("--autocast", default="none",
                    help="none, bf16 (CPU bfloat16 autocast) or none,bf16 to compare")
    ap.add_argument("--adamw", default="default",
                    help="AdamW implementation: default (as the estimator), foreach, fused, "
                         "or a comma-separated list")
    ap.add_argument("--compare", default=None, metavar="DIR",
                    help="also time the sslvae_text package found in DIR (a copy or a worktree "
                         "of another version with training.update) round-robin with the importable one")
    ap.add_argument("--compile", action="store_true",
                    help="also time a torch.compile'd copy of each configuration")
    ap.add_argument("--decoder-max-length", default="none",
                    help="tokens the LSTM decoder reconstructs (none: all), or a comma-separated list "
                         "to compare, e.g. none,64 (SSVAE objectives)")
    ap.add_argument("--bow-weight", default="0",
                    help="weight of the bag-of-words term, or a comma-separated list, e.g. 0,1 "
                         "(SSVAE objectives; 0: none)")
    ap.add_argument("--vocab", type=int, default=10000, help="vocabulary size V")
    ap.add_argument("--decoder-size", type=int, default=300)
    ap.add_argument("--embedding-dim", type=int, default=DEFAULT_DIM,
                    help="word-embedding size E (300, the estimator's without vectors; 50 for glove-6b-50d)")
    ap.add_argument("--batch-size", type=int, default=32, help="labeled (and unlabeled) per update")
    ap.add_argument("--tokens", choices=["zipf", "uniform"], default="zipf",
                    help="distribution of the random word ids")
    ap.add_argument("--yardstick", default=None,
                    help="path of naive_ssvae_step.py, run as a subprocess at the same shapes")
    ap.add_argument("--yardstick-steps", type=int, default=3)
    ap.add_argument("--csv", default=None, help="also write the table to this CSV file")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def _split(text):
    return [t.strip() for t in str(text).split(",") if t.strip()]


def load_package(directory=None):
    """The model, objective and text modules of sslvae_text: the importable one, or the copy
    in ``directory`` loaded under another name so that both can be timed in one process."""
    if directory is None:
        package = sslvae_text
    else:
        root = os.path.join(os.path.abspath(directory), "sslvae_text")
        if not os.path.isfile(os.path.join(root, "__init__.py")):
            raise SystemExit(f"--compare {directory}: no sslvae_text package in it")
        name = "_sslvae_text_compared"
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(root, "__init__.py"), submodule_search_locations=[root])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    if not os.path.isfile(os.path.join(os.path.dirname(package.__file__), "recipe.py")):
        raise SystemExit(f"--compare {directory}: that sslvae_text predates sslvae_text.recipe, "
                         "which builds the timed networks")
    for module in ("model", "objective", "recipe", "text", "training"):
        importlib.import_module(f"{package.__name__}.{module}")
    return package


# -- configurations -----------------------------------------------------------------------------

def estimator_defaults():
    """The SSVAE estimator's hyperparameters at their defaults: the network and objective timed."""
    return sslvae_text.SSVAETextClassifier().get_params()


class Case:
    """One configuration: the estimator's network, optimizer and objective, and its update.

    The update is the package's own (``training.update``), so the benchmark times what ``fit``
    runs; ``params`` are an SSVAE estimator's hyperparameters.
    """

    def __init__(self, *, objective, n_classes, vocab, device, threads, output_layer, autocast,
                 adamw, compiled, params, package=None, package_label="", cutoffs=None,
                 div_value=None, shared_encoder=None, decoder_max_length=None, bow_weight=0.0):
        self.package = package or sslvae_text
        self.package_label = package_label
        self.objective, self.device = objective, device
        self.threads, self.output_layer, self.autocast = threads, output_layer, autocast
        self.adamw, self.compiled = adamw, compiled
        self.name = OBJECTIVES[objective]
        self.supervised = self.name not in VARIANTS
        self.use_kl, self.use_z = VARIANTS.get(self.name, (None, None))
        self.params = params
        model, recipe = self.package.model, self.package.recipe
        self.cutoffs = cutoffs or adaptive_cutoffs(vocab)
        self.cutoffs_label = cutoffs is not None and output_layer == "adaptive"
        if self.supervised:
            self.output_layer = "-"
        # every update at full KL weight: the annealing does not change an update's cost
        case = dict(params, use_kl=self.use_kl, use_z=self.use_z, output_layer=output_layer,
                    kl_warmup=0, kl_ramp=0)
        if shared_encoder is not None:
            case["shared_encoder"] = shared_encoder
        self.decoder_max_length, self.bow_weight = decoder_max_length, bow_weight
        if not self.supervised and (decoder_max_length is not None or bow_weight):
            case.update(decoder_max_length=decoder_max_length, bow_weight=bow_weight)
        self.loss_fn = recipe.objective(case, generative=not self.supervised, interval=1)
        self.module = recipe.network(case, vocabulary_size=vocab, n_classes=n_classes,
                                     embedding_dim=params["embedding_dim"], generative=not self.supervised,
                                     cutoffs=self.cutoffs, div_value=div_value or model.DIV_VALUE)
        self.module.to(device).train()
        kwargs = {} if adamw == "default" else {adamw: True}
        self.optimizer = model.make_optimizer(self.module, params["learning_rate"], **kwargs)
        if compiled:
            self.loss_fn = torch.compile(self.loss_fn, dynamic=True)
        self.times, self.cpu_times, self.tokens, self.flops = [], [], [], []
        self.error = None  # why this configuration could not run, if it could not

    def label(self):
        parts = [self.package_label] if self.package_label else []
        parts.append(self.device)
        if self.device == "cpu":
            parts.append(f"{self.threads}t")
        if self.output_layer != "-":
            parts.append(self.output_layer)
        if self.cutoffs_label:
            parts.append("cut " + ",".join(map(str, self.cutoffs)))
        if self.autocast != "none":
            parts.append(self.autocast)
        if self.adamw != "default":
            parts.append(f"adamw-{self.adamw}")
        if self.compiled:
            parts.append("compiled")
        if not self.supervised and self.decoder_max_length is not None:
            parts.append(f"decoder {self.decoder_max_length}")
        if not self.supervised and self.bow_weight:
            parts.append(f"bow {self.bow_weight:g}")
        return " ".join(parts)

    def step(self, batch, timed):
        """One update on ``batch`` (padding, transfer, loss, backward, AdamW), as ``fit`` runs it."""
        sequences, labels = batch
        labeled = [(s, y) for s, y in zip(sequences, labels) if y >= 0]
        # the baseline ignores unlabeled documents
        unlabeled = [] if self.supervised else [s for s, y in zip(sequences, labels) if y < 0]
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)
        sync()
        cpu_start, start = time.process_time(), time.perf_counter()
        self.package.training.update(
            self.module, self.optimizer, self.loss_fn,
            ([s for s, _ in labeled], [y for _, y in labeled]), unlabeled, step=0,
            mixed_precision=self.autocast == "bf16")
        sync()
        elapsed = time.perf_counter() - start
        if timed:
            tokens, lengths = pad_batch([s for s, _ in labeled] + unlabeled)
            self.times.append(elapsed)
            self.cpu_times.append(time.process_time() - cpu_start)
            self.tokens.append(int(lengths.sum()))
            self.flops.append(self.count_flops(tokens, lengths))
        return elapsed

    def count_flops(self, tokens, lengths):
        """FLOPs of one update (forward + backward = 3x forward), see the module docstring."""
        d, m = self.params, self.module
        E, He = d["embedding_dim"], d["hidden_size"]
        n_docs, n_tokens = len(lengths), int(lengths.sum())
        K = m.q_y.linear.out_features
        n_encoders = 1 + (getattr(m, "z_encoder", None) is not None)
        forward = n_encoders * n_tokens * 2 * (2 * 4 * He * (E + He)) + n_docs * 2 * (2 * He) * K
        if m.p_x is not None:
            Hd, dy = m.p_x.lstm.hidden_size, m.p_x.y_table.out_features
            dz = m.q_z.loc.out_features if m.q_z is not None else 0
            forward += n_tokens * 2 * 4 * Hd * (E + dy + dz + Hd) + n_docs * 2 * K * dy
            forward += n_docs * 2 * 2 * (2 * He) * dz
            out = m.p_x.output
            if isinstance(out, nn.AdaptiveLogSoftmaxWithLoss):
                forward += n_tokens * 2 * Hd * out.head_size
                real = tokens[torch.arange(tokens.size(1)) < lengths.unsqueeze(1)]
                for i, tail in enumerate(out.tail):
                    lo, hi = out.cutoffs[i], out.cutoffs[i + 1]
                    n_in = int(((real >= lo) & (real < hi)).sum())
                    h_i, n_i = tail[0].out_features, tail[1].out_features
                    forward += n_in * 2 * (Hd * h_i + h_i * n_i)
            else:
                forward += n_tokens * 2 * Hd * out.out_features
        return 3 * forward

    def summary(self):
        if self.error is not None or not self.times:
            return None
        times = np.asarray(self.times)
        seconds = float(times.mean())
        return dict(
            s_per_update=seconds, std=float(times.std(ddof=1)) if len(times) > 1 else 0.0,
            tokens_per_s=sum(self.tokens) / float(times.sum()),
            gflops=sum(self.flops) / float(times.sum()) / 1e9,
            cpu_s_per_update=float(np.mean(self.cpu_times)),
        )


# -- random documents --------------------------------------------------------------------------

class Documents:
    """Random documents of a shape, in the length-bucketed batches the estimator forms."""

    def __init__(self, shape, vocab, batch_size, token_law, rng, *, n_labeled=3600, n_unlabeled=10000):
        s = SHAPES[shape]
        self.shape, self.vocab, self.batch_size, self.rng = s, vocab, batch_size, rng
        self.lengths_l = self._lengths(n_labeled)
        self.lengths_u = self._lengths(n_unlabeled)
        self._labeled, self._unlabeled = iter(()), iter(())
        if token_law == "zipf":  # p(id) ~ 1/rank over ids 1..V-1 (0 is padding)
            p = 1.0 / np.arange(1, vocab)
            self.p = p / p.sum()
        else:
            self.p = None

    def _lengths(self, n):
        mean, top = self.shape["mean_length"], self.shape["max_length"]
        return np.clip(np.rint(self.rng.normal(mean, 0.27 * mean, n)), 2, top).astype(np.int64)

    def _next(self, which):
        while True:
            it = self._labeled if which == "l" else self._unlabeled
            rows = next(it, None)
            if rows is not None and len(rows) == self.batch_size:
                return rows
            lengths = self.lengths_l if which == "l" else self.lengths_u
            fresh = iter(bucketed_batches(lengths, self.batch_size, self.rng))
            if which == "l":
                self._labeled = fresh
            else:
                self._unlabeled = fresh

    def _doc(self, length):
        if self.p is None:
            return self.rng.integers(1, self.vocab, size=length)
        return self.rng.choice(np.arange(1, self.vocab), size=length, p=self.p)

    def batch(self):
        """(list of id arrays: labeled then unlabeled, list of labels with -1 for unlabeled)."""
        rows_l, rows_u = self._next("l"), self._next("u")
        docs = [self._doc(n) for n in self.lengths_l[rows_l]] + [self._doc(n) for n in self.lengths_u[rows_u]]
        labels = self.rng.integers(0, self.shape["n_classes"], len(rows_l)).tolist() + [-1] * len(rows_u)
        return docs, labels


# -- peak, yardstick, machine load ---------------------------------------------------------------

class OtherLoad:
    """CPU time that other processes took while we measured, in cores (Linux /proc/stat).

    On a shared machine a busy neighbour slows every configuration down (two torch threads
    much more than one: each parallel region waits for the descheduled thread); the printed
    ratios of one run stay comparable, the absolute numbers do not.
    """

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:8]]
        except (OSError, ValueError):
            return None
        busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
        own = os.times()
        own_cpu = own.user + own.system + own.children_user + own.children_system  # + yardstick
        return busy / os.sysconf("SC_CLK_TCK"), own_cpu, time.perf_counter()

    def cores(self):
        end = self._sample()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        others = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return max(0.0, others / (end[2] - self.start[2]))


def matmul_peak(device, threads, dtype=torch.float32, n=2048, repeats=5):
    """Best GFLOP/s of an n x n x n matrix product (the machine's practical peak)."""
    if device == "cpu":
        torch.set_num_threads(threads)
    elif n < 8192:
        n = 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    best = math.inf
    for _ in range(repeats + 1):
        sync()
        t = time.perf_counter()
        torch.matmul(a, b)
        sync()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def run_yardstick(path, shape, use_z, vocab, steps, threads):
    """(ms/update, real tokens/s) printed by naive_ssvae_step.py at this shape, or None."""
    s = SHAPES[shape]
    cmd = [sys.executable, path, "--use-z", str(int(use_z)), "--mean-len", str(s["mean_length"]),
           "--max-len", str(s["max_length"]), "--classes", str(s["n_classes"]), "--vocab", str(vocab),
           "--steps", str(steps)]
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    match = re.search(r"([\d.]+) ms/update, ([\d.]+) real tokens/s", out.stdout)
    if match is None:
        print(f"yardstick failed: {out.stdout}{out.stderr}", file=sys.stderr)
        return None
    return float(match.group(1)), float(match.group(2))


# -- main --------------------------------------------------------------------------------------

def _levers(args):
    """The values of every lever to time, checked; exits with a message on a bad one."""
    shapes, objectives = _split(args.shapes), _split(args.objectives)
    for name, table, values in (("shape", SHAPES, shapes), ("objective", OBJECTIVES, objectives)):
        for value in values:
            if value not in table:
                raise SystemExit(f"unknown {name} {value!r}; choose among {', '.join(table)}")
    devices = _split(args.device)
    if devices == ["auto"]:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if any(d.startswith("cuda") for d in devices) and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch finds no CUDA device")
    levers = dict(
        shapes=shapes, objectives=objectives, devices=devices,
        threads=[int(t) for t in _split(args.threads)] if args.threads else [torch.get_num_threads()],
        outputs=_split(args.output_layer), casts=_split(args.autocast), adamws=_split(args.adamw),
        compiled=[False, True] if args.compile else [False],
        cutoff_sets=([[int(c) for c in _split(cs)] for cs in args.cutoffs.split(";")]
                     if args.cutoffs else [None]),
    )
    try:
        levers["decoders"] = [None if v == "none" else int(v) for v in _split(args.decoder_max_length)]
        levers["bows"] = [float(v) for v in _split(args.bow_weight)]
    except ValueError as error:
        raise SystemExit(f"--decoder-max-length takes none or integers, --bow-weight numbers: {error}")
    for option, key, allowed in (("--output-layer", "outputs", {"full", "adaptive"}),
                                 ("--autocast", "casts", {"none", "bf16"}),
                                 ("--adamw", "adamws", {"default", "foreach", "fused"})):
        if not levers[key] or set(levers[key]) - allowed:
            raise SystemExit(f"{option} takes a comma-separated list among {', '.join(sorted(allowed))}")
    levers["packages"] = [("", load_package())]
    no_bf16 = [d for d in devices if "bf16" in levers["casts"]
               and not sslvae_text.training.bfloat16_autocast_works(d)]
    if no_bf16:
        raise SystemExit(f"--autocast bf16, but {', '.join(no_bf16)} cannot run an LSTM under bfloat16 autocast "
                         f"(torch's CPU capability: {torch.backends.cpu.get_cpu_capability()}); drop bf16")
    if args.compare:  # first, so that "x ref" is the importable package's speed-up over it
        levers["packages"].insert(0, (f"[{os.path.basename(os.path.normpath(args.compare))}]",
                                      load_package(args.compare)))
    return levers


def _peaks(levers):
    """{(device, threads, autocast): matmul GFLOP/s}, printed as they are measured."""
    peaks = {}
    for device in levers["devices"]:
        for t in levers["threads"] if device == "cpu" else [None]:
            for cast in levers["casts"]:
                dtype = torch.bfloat16 if cast == "bf16" else torch.float32
                peaks[device, t, cast] = matmul_peak(device, t, dtype)
                print(f"matmul peak {device}{'' if t is None else f' {t} thread(s)'} "
                      f"{'bf16' if cast == 'bf16' else 'fp32'}: {peaks[device, t, cast]:.1f} GFLOP/s")
    return peaks


def _cases(shape, levers, params, args):
    """Every combination of the levers at one shape (skipping those that change nothing)."""
    cases = []
    outputs, cutoff_sets = levers["outputs"], levers["cutoff_sets"]
    for objective, (label, package), device, out, cuts, cast, adamw, comp, decoder, bow in itertools.product(
            levers["objectives"], levers["packages"], levers["devices"], outputs, cutoff_sets,
            levers["casts"], levers["adamws"], levers["compiled"], levers["decoders"], levers["bows"]):
        supervised = OBJECTIVES[objective] not in VARIANTS
        if supervised and (out, decoder, bow) != (outputs[0], levers["decoders"][0], levers["bows"][0]):
            continue  # the baseline has no decoder
        if cuts is not cutoff_sets[0] and (out != "adaptive" or supervised):
            continue  # cutoffs only matter to the adaptive softmax
        for t in levers["threads"] if device == "cpu" else [None]:
            cases.append(Case(objective=objective, n_classes=SHAPES[shape]["n_classes"],
                              vocab=args.vocab, device=device, threads=t, output_layer=out,
                              autocast=cast, adamw=adamw, compiled=comp, params=params,
                              package=package, package_label=label, cutoffs=cuts,
                              div_value=args.div_value, decoder_max_length=decoder, bow_weight=bow))
    return cases


def _time_round_robin(cases, docs, args):
    """Every case takes its turn on the same batch; a case that fails is reported and dropped."""
    for i in range(args.warmup + args.steps):
        batch = docs.batch()
        for case in cases:
            if case.error is None:
                try:
                    case.step(batch, timed=i >= args.warmup)
                except (RuntimeError, NotImplementedError) as error:  # e.g. an unsupported dtype
                    case.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
                    print(f"{case.name} {case.label()} failed: {case.error}")


def _yardsticks(shape, levers, args):
    """{(use_z, threads): (ms/update, tokens/s)} of the yardstick script, on the CPU only."""
    yard = {}
    if not args.yardstick or "cpu" not in levers["devices"]:
        return yard
    uses_z = {VARIANTS[OBJECTIVES[o]][1] for o in levers["objectives"] if OBJECTIVES[o] in VARIANTS}
    for use_z in sorted(uses_z):
        for t in levers["threads"]:
            yard[use_z, t] = run_yardstick(args.yardstick, shape, use_z, args.vocab, args.yardstick_steps, t)
            if yard[use_z, t]:
                print(f"yardstick use_z={int(use_z)} {t} thread(s): "
                      f"{yard[use_z, t][0]:.0f} ms/update, {yard[use_z, t][1]:.0f} real tokens/s")
    return yard


def _report_load(others, threads):
    if others is None:
        return
    busy = others > 0.25
    print(f"other processes used {others:.2f} of the {os.cpu_count()} CPU cores meanwhile"
          + (" -- a busy machine: trust the ratios more than the absolute numbers" if busy else ""))
    if busy and max(threads) > 1 and os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        print("  (several torch threads on a busy machine can run 10x slower than one: "
              "set OMP_WAIT_POLICY=PASSIVE or --threads 1)")


def _rows(shape, cases, peaks, yard, others):
    """One table row per case, with its ratios to the references: the same objective with the
    first value of every lever, SSVAE with the same levers, and the yardstick."""
    first = {}
    for case in cases:
        if case.summary() is not None:
            first.setdefault(case.objective, case.summary())
    by_levers = {(c.objective, c.label()): c.summary() for c in cases}
    rows = []
    for case in cases:
        s = case.summary()
        if s is None:
            rows.append(dict(shape=shape, objective=case.name, settings=case.label(),
                             error=case.error or "no timed update", other_load_cores=others))
            continue
        ref = first[case.objective]
        ssvae = by_levers.get(("ssvae", case.label()))
        y = yard.get((case.use_z, case.threads)) if not case.supervised else None
        peak = peaks[case.device, case.threads, case.autocast]
        rows.append(dict(
            shape=shape, objective=case.name, settings=case.label(),
            tokens_per_s=s["tokens_per_s"], s_per_update=s["s_per_update"], std=s["std"],
            cpu_s_per_update=s["cpu_s_per_update"],
            gflops=s["gflops"], peak_fraction=s["gflops"] / peak,
            speedup=s["tokens_per_s"] / ref["tokens_per_s"],
            time_vs_ssvae=(s["s_per_update"] / ssvae["s_per_update"]) if ssvae else None,
            vs_yardstick=(s["tokens_per_s"] / y[1]) if y else None,
            yardstick_tokens_per_s=y[1] if y else None,
            agnews_minutes=(None if shape != "ag_news" else
                            "-".join(f"{s['s_per_update'] * n / 60:.0f}" for n in TYPICAL_UPDATES)),
            error=None, other_load_cores=others,
        ))
    return rows


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        fields = list(next((r for r in rows if r["error"] is None), rows[0]))
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")


def main(argv=None):
    args = parse_args(argv)
    params = dict(estimator_defaults(), decoder_size=args.decoder_size, embedding_dim=args.embedding_dim)
    levers = _levers(args)
    print(f"sslvae_text {sslvae_text.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs; V={args.vocab}, E={args.embedding_dim}, decoder {args.decoder_size}, "
          f"{args.batch_size}+{args.batch_size} documents/update, {args.tokens} word ids, "
          f"{args.warmup} warm-up + {args.steps} timed updates per configuration; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    peaks = _peaks(levers)
    rows = []
    for shape in levers["shapes"]:
        rng = np.random.default_rng(args.seed)
        torch.manual_seed(args.seed)
        docs = Documents(shape, args.vocab, args.batch_size, args.tokens, rng)
        cases = _cases(shape, levers, params, args)
        print(f"\n{shape}: {SHAPES[shape]}, {len(cases)} configuration(s), timed round-robin ...",
              flush=True)
        load = OtherLoad()
        _time_round_robin(cases, docs, args)
        yard = _yardsticks(shape, levers, args)
        others = load.cores()
        _report_load(others, levers["threads"])
        rows += _rows(shape, cases, peaks, yard, others)
        print_table([r for r in rows if r["shape"] == shape])
    if any(r.get("agnews_minutes") for r in rows):
        print(f"\nAG News minutes: an estimate, s/update x {TYPICAL_UPDATES[0]:,}-{TYPICAL_UPDATES[1]:,} "
              "updates (4,000 labeled + 10,000 unlabeled, early stopping), validation passes not counted.")
    if args.csv:
        _write_csv(args.csv, rows)
    return rows


def print_table(rows):
    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    header = ("objective", "settings", "tokens/s", "ms/update", "± std", "GFLOP/s", "% peak",
              "x ref", "t/t(SSVAE)", "x yardstick", "AGNews min")

    def cells(r):
        if r["error"]:
            return (r["objective"], r["settings"], "failed") + ("-",) * (len(header) - 3)
        return (
            r["objective"], r["settings"], fmt(r["tokens_per_s"], ".0f"),
            fmt(1000 * r["s_per_update"], ".0f"), fmt(1000 * r["std"], ".0f"),
            fmt(r["gflops"], ".1f"), fmt(100 * r["peak_fraction"], ".0f"), fmt(r["speedup"], ".2f"),
            fmt(r["time_vs_ssvae"], ".2f"), fmt(r["vs_yardstick"], ".2f"), r["agnews_minutes"] or "-",
        )

    table = [header] + [cells(r) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        print("  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(row, widths))))
        if j == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
