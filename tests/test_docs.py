"""What the docstrings promise: every documented default is the signature's default."""

import ast
import builtins
import configparser
import importlib
import inspect
import re
from pathlib import Path

import pytest
from sklearn import set_config
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from conftest import tiny_ssvae

ROOT = Path(__file__).resolve().parents[1]

MODULES = ["sslvae_text", "sslvae_text.datasets", "sslvae_text.embeddings", "sslvae_text.text",
           "sslvae_text.model", "sslvae_text.objective", "sslvae_text.training",
           "sslvae_text.model_selection", "sslvae_text.datasets._fetch",
           "sslvae_text.datasets._corpora", "sslvae_text.datasets._protocol"]


def _documented_defaults():
    """(object name, parameter, documented default, signature) of every public callable."""
    seen = set()
    for module_name in MODULES:
        for name, obj in vars(importlib.import_module(module_name)).items():
            if (name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj))
                    or not obj.__module__.startswith("sslvae_text") or obj in seen
                    or "__mutmut_" in name):  # mutmut's copies of a function (docs/contributing.md)
                continue
            seen.add(obj)
            if isinstance(obj, type) and issubclass(obj, Exception):
                continue
            signature = inspect.signature(obj)
            for parameter, default in re.findall(r"^(\w+) : .*?default=(.+)$",
                                                 inspect.getdoc(obj) or "", re.M):
                yield f"{obj.__module__}.{name}", parameter, default, signature


def test_every_documented_default_is_the_signatures():
    checked = 0
    for owner, parameter, default, signature in _documented_defaults():
        assert parameter in signature.parameters, f"{owner} documents an absent {parameter}"
        assert signature.parameters[parameter].default == ast.literal_eval(default), (
            f"{owner}({parameter}=...) documents default={default}")
        checked += 1
    assert checked > 100  # the estimators, the loaders, the generator, the vectors' helpers


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_snippets_define_every_name_they_use():
    defined = set(dir(builtins))
    for block in _python_blocks((ROOT / "README.md").read_text()):
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                defined.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert used <= defined, f"undefined in a README snippet: {sorted(used - defined)}"


def test_readme_routing_advice_works(corpus):
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "enable_metadata_routing=True)`, `X_unlabeled`" in text
    assert "pipe.fit(X, y, X_unlabeled=X_unlabeled)" in text
    assert "Without routing, scikit-learn's older `clf__X_unlabeled=...`" in text
    X, y, X_u, X_test, _ = corpus
    pipe = Pipeline([("identity", FunctionTransformer()), ("clf", tiny_ssvae())])
    pipe.fit(X, y, clf__X_unlabeled=X_u)
    assert pipe[-1].n_unlabeled_ == len(X_u)
    set_config(enable_metadata_routing=True)
    try:
        pipe.fit(X, y, X_unlabeled=X_u[:10])
        assert pipe[-1].n_unlabeled_ == 10
        with pytest.raises(TypeError):
            pipe.fit(X, y, clf__X_unlabeled=X_u)
    finally:
        set_config(enable_metadata_routing=False)


def test_readme_warns_about_the_torch_build_before_the_install_commands():
    text = (ROOT / "README.md").read_text()
    assert text.index("CPU build") < text.index("```bash")
    assert "this project's machines" not in text


def test_package_metadata_is_complete():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    metadata = config["metadata"]
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert metadata["license_files"].strip() == "LICENSE"
    assert metadata.get("author", "").strip()
    classifiers = metadata["classifiers"]
    assert "License :: OSI Approved :: BSD License" in classifiers
    assert re.search(r"Programming Language :: Python :: 3\.1[0-9]", classifiers)
