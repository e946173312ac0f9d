"""Cut one wire at a time and check that the tests notice: each mutant must be killed.

Each mutant is a one-line change of the package. It is applied to a copy of the package and
of the tests in a temporary folder, the fast tests run there, and the copy is thrown away: the
checkout is never modified.

    python tests/mutants.py                 # all mutants, about 3 minutes on 2 cores
    python tests/mutants.py --only rsample  # the mutants whose name contains "rsample"

Prints one line per mutant and exits 1 if one survives. For a broad, automatic search, see
the mutmut section of docs/contributing.md.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_wiring.py", "tests/test_model.py", "tests/test_training.py"]

# name: (file, the line as it is, the line cut)
MUTANTS = {
    "unlabeled documents never trained on": (
        "sslvae_text/training.py",
        "unlabeled = [] if self.unlabeled is None else [data.ids_unlabeled[i] for i in next(self.unlabeled)]",
        "unlabeled = [] if self.unlabeled is None else [data.ids_unlabeled[i] for i in next(self.unlabeled)][:0]"),
    "KL weight applied without the KL terms": (
        "sslvae_text/objective.py",
        "beta = kl_weight(step, warmup=kl_warmup, ramp=kl_ramp) if use_kl else 0.0",
        "beta = kl_weight(step, warmup=kl_warmup, ramp=kl_ramp)"),
    "last weights kept instead of the best": (
        "sslvae_text/training.py",
        "            module.load_state_dict(self._weights)",
        "            pass"),
    "validation documents also trained on": (
        "sslvae_text/estimator.py",
        "        return rows, [X[i] for i in val_rows], y[val_rows]",
        "        return np.arange(len(X)), [X[i] for i in val_rows], y[val_rows]"),
    "KL annealing counted in checks, not updates": (
        "sslvae_text/training.py",
        "step=state.n_updates, mixed_precision=settings.mixed_precision)",
        "step=len(state.history), mixed_precision=settings.mixed_precision)"),
    "validation split not stratified": (
        "sslvae_text/estimator.py",
        "rows, val_rows = train_test_split(np.arange(len(X)), test_size=n_val, stratify=stratify,",
        "rows, val_rows = train_test_split(np.arange(len(X)), test_size=n_val, stratify=None,"),
    "Gumbel temperature ignored": (
        "sslvae_text/objective.py",
        "tau=temperature, hard=False",
        "tau=1.0, hard=False"),
    "z is the mean of q(z|x), not a sample": (
        "sslvae_text/objective.py", "z = q_z.rsample()", "z = q_z.mean"),
    "z sampled without the reparameterisation (rsample -> sample)": (
        "sslvae_text/objective.py", "z = q_z.rsample()", "z = q_z.sample()"),
    "alpha never reaches the objective": (
        "sslvae_text/recipe.py",
        "alpha=params[\"alpha\"], use_kl=params[\"use_kl\"],",
        "alpha=10.0, use_kl=params[\"use_kl\"],"),
    "unlabeled_y ignored": (
        "sslvae_text/recipe.py",
        "unlabeled_y=params[\"unlabeled_y\"], temperature=params[\"temperature\"],",
        "unlabeled_y=\"gumbel\", temperature=params[\"temperature\"],"),
    "z_gradient ignored": (
        "sslvae_text/recipe.py",
        "        z_gradient=params[\"z_gradient\"],",
        "        z_gradient=\"stl\","),
    "dropout hyperparameter ignored": (
        "sslvae_text/recipe.py",
        "hidden_size=params[\"hidden_size\"], dropout=params[\"dropout\"])",
        "hidden_size=params[\"hidden_size\"], dropout=0.0)"),
    "max_length ignored for the training documents": (
        "sslvae_text/recipe.py",
        "return [vocab.encode(doc, max_length=params[\"max_length\"]) for doc in tokenized]",
        "return [vocab.encode(doc, max_length=None) for doc in tokenized]"),
    "scale of q(z|x) through exp, not softplus": (
        "sslvae_text/model.py",
        "return Normal(self.loc(h), F.softplus(self.scale(h)) + 1e-6)",
        "return Normal(self.loc(h), torch.exp(self.scale(h)) + 1e-6)"),
    "straight-through (hard) Gumbel-softmax": (
        "sslvae_text/objective.py", "tau=temperature, hard=False", "tau=temperature, hard=True"),
    "no dropout in the encoder": (
        "sslvae_text/model.py",
        "        embedded = self.dropout(embedded)\n        steps = embedded.size(1)",
        "        steps = embedded.size(1)"),
    "no dropout on the decoder's input": (
        "sslvae_text/model.py",
        "hidden, _ = self.lstm(self.dropout(torch.cat([previous, latent], dim=-1)))",
        "hidden, _ = self.lstm(torch.cat([previous, latent], dim=-1))"),
}


def run(name, path, old, new):
    with tempfile.TemporaryDirectory() as tmp:
        for part in ("sslvae_text", "tests"):
            shutil.copytree(ROOT / part, Path(tmp) / part, ignore=shutil.ignore_patterns("__pycache__"))
        for part in ("pyproject.toml", "setup.cfg"):
            shutil.copy(ROOT / part, tmp)
        target = Path(tmp) / path
        text = target.read_text()
        if text.count(old) != 1:
            return "stale"  # the line has changed: update MUTANTS
        target.write_text(text.replace(old, new))
        env = dict(os.environ, PYTHONPATH=tmp, OMP_WAIT_POLICY="PASSIVE")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *TESTS],
            cwd=tmp, env=env, capture_output=True, text=True)
        return "killed" if result.returncode != 0 else "SURVIVED"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="run the mutants whose name contains this")
    args = ap.parse_args(argv)
    outcomes = {}
    for name, (path, old, new) in MUTANTS.items():
        if args.only in name:
            outcomes[name] = run(name, path, old, new)
            print(f"{outcomes[name]:9s} {name}  ({path})", flush=True)
    bad = [n for n, o in outcomes.items() if o != "killed"]
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} killed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
