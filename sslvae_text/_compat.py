"""scikit-learn's private helpers that the estimators use, imported in one place.

They are not public API and may move between scikit-learn releases: a move is then fixed here.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

__all__ = ["Interval", "InvalidParameterError", "StrOptions", "_fit_context"]
