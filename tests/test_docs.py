"""What the docstrings promise: every documented default is the signature's default."""

import ast
import importlib
import inspect
import re

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
