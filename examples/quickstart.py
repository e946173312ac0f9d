"""Quickstart: few labels, many unlabeled documents, the supervised baseline against SSVAE-{KL,z}.

Generates a 4-class corpus with `make_text_classification`, keeps the labels of 200 documents,
gives 3,800 more as unlabeled, and prints the test accuracy of both models.

    python examples/quickstart.py
"""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.datasets import make_text_classification

X, y = make_text_classification(6000, n_classes=4, random_state=0)
X_labeled, y_labeled = X[:200], y[:200]
X_unlabeled = X[200:4000]
X_test, y_test = X[4000:], y[4000:]

# Smaller networks than the paper's (300-d embeddings, decoder 300): this corpus is small.
# A shorter patience and a cap of 1,000 updates keep the demo under two minutes on 2 CPU cores
# (the cap is deliberate: no warning about stopping while the validation score still improves).
# alpha is the estimator's default, 1000 (docs/choosing.md).
warnings.filterwarnings("ignore", category=ConvergenceWarning)
sizes = dict(embedding_dim=64, hidden_size=64, validation_fraction=0.25, n_iter_no_change=4,
             lr_patience=2, max_updates=1000, random_state=0)
models = {
    "Supervised": SupervisedTextClassifier(**sizes),
    "SSVAE-{KL,z}": SSVAETextClassifier(use_kl=False, use_z=False, decoder_size=128, **sizes),
}
print(f"{len(X_labeled)} labeled, {len(X_unlabeled)} unlabeled, {len(X_test)} test documents, 4 classes")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_labeled, y_labeled, X_unlabeled=X_unlabeled)
    print(f"{name:14s} test accuracy {model.score(X_test, y_test):.3f}  "
          f"({model.n_updates_} updates, {time.perf_counter() - start:.0f} s)")
