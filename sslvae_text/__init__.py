"""Semi-supervised VAE text classification (Felhi et al., 2021) as scikit-learn estimators."""

from .estimator import SSVAETextClassifier, SupervisedTextClassifier
from .linear import LinearSSVAEClassifier
from .model_selection import SemiSupervisedKFold, UnlabeledTexts

__version__ = "0.1.0"

__all__ = ["LinearSSVAEClassifier", "SSVAETextClassifier", "SemiSupervisedKFold", "SupervisedTextClassifier", "UnlabeledTexts"]
