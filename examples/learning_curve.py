"""Learning curves: what ``history_`` records, drawn.

Fits the supervised baseline and SSVAE-{KL,z} on 100 labeled and 2,000 unlabeled generated
documents, then plots, per validation check, the validation accuracy of both models and the
SSVAE's training terms (reconstruction, supervised loss). About a minute on 2 CPU cores.

    pip install matplotlib
    python examples/learning_curve.py --output learning_curve.png
"""

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning

from sslvae_text import SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.datasets import make_text_classification


def plot_learning_curves(histories, path):
    """Validation accuracy of each model, and each model's training terms, against updates.

    ``histories`` maps a model's name to its ``history_``; writes a PNG to ``path`` and returns
    the matplotlib figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (accuracy, terms) = plt.subplots(1, 2, figsize=(10, 4))
    for name, history in histories.items():
        updates = [check["updates"] for check in history]
        accuracy.plot(updates, [check["valid_accuracy"] for check in history], marker="o", label=name)
        for term in ("supervised_loss", "reconstruction"):
            values = [check.get(term) for check in history]
            if all(v is not None for v in values):
                terms.plot(updates, values, label=f"{name}: {term}")
    accuracy.set(xlabel="updates", ylabel="validation accuracy", title="Validation checks")
    terms.set(xlabel="updates", ylabel="mean per document", yscale="log",
              title="Training terms since the previous check")
    accuracy.legend()
    terms.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", default="learning_curve.png", help="PNG file to write")
    ap.add_argument("--max-updates", type=int, default=600)
    args = ap.parse_args(argv)

    X, y = make_text_classification(3000, n_classes=4, random_state=0)
    X_labeled, y_labeled, X_unlabeled = X[:100], y[:100], X[100:2100]
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # the cap is deliberate
    warnings.filterwarnings("ignore", message="The validation set has")  # 25 documents: known
    sizes = dict(embedding_dim=32, hidden_size=32, validation_fraction=0.25,
                 validation_interval=max(args.max_updates // 12, 1), max_updates=args.max_updates,
                 random_state=0, n_threads=1)
    models = {
        "Supervised": SupervisedTextClassifier(**sizes),
        "SSVAE-{KL,z}": SSVAETextClassifier(use_kl=False, use_z=False, decoder_size=64, **sizes),
    }
    for model in models.values():
        model.fit(X_labeled, y_labeled, X_unlabeled=X_unlabeled)
    plot_learning_curves({name: model.history_ for name, model in models.items()}, args.output)
    print(f"wrote {args.output}")
    return models


if __name__ == "__main__":
    main()
