"""Feature typing and the preprocessing pipeline (fitted on training rows only).

Types (DESIGN.md §2): ``numeric`` (impute median + missing indicator, scale), ``categorical``
(impute, one-hot with a cap on levels; rare and unseen levels share one column), ``boolean``
(0/1, impute), ``datetime`` (calendar parts), ``text`` (hashed TF-IDF + truncated SVD).
:class:`Preprocessor` is a scikit-learn estimator: everything it learns (medians, scales,
levels, SVD axes) comes from the rows passed to ``fit``, which the protocol restricts to a
fold's training rows.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FEATURE_TYPES", "FeatureType", "Preprocessor", "infer_feature_type", "infer_feature_types"]

FeatureType = Literal["numeric", "categorical", "boolean", "datetime", "text"]
FEATURE_TYPES: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text")

_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}
_SAMPLE = 500
#: A time of day alone ("08:30", "8:30:15.5"): read on 1970-01-01, not on whatever day the run is.
_TIME_OF_DAY = re.compile(r"\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*")


def infer_feature_type(column: pd.Series) -> FeatureType:
    """The type of one feature column.

    Rule (documented in the README): bool dtype -> boolean; datetime dtype -> datetime; numeric
    dtype -> numeric; for text-like columns, a sample of values decides: only true/false/yes/no
    words -> boolean; >= 95% parse as numbers -> numeric; >= 95% parse as dates (and look like
    dates) -> datetime; on average >= 4 words with many distinct values -> text; else categorical.
    """
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    values = column.dropna()
    if values.empty:
        return "numeric"
    sample = values.astype(str).str.strip()
    unique = pd.Series(sample.unique()[:_SAMPLE])
    lowered = set(unique.str.lower())
    if lowered <= (_TRUE | _FALSE) and lowered & _TRUE and lowered & _FALSE:
        return "boolean"
    if pd.to_numeric(unique, errors="coerce").notna().mean() >= 0.95:
        return "numeric"
    looks_like_date = unique.str.contains(r"\d", regex=True) & unique.str.contains(r"[-/:.]", regex=True)
    if looks_like_date.mean() >= 0.95:
        parsed = pd.to_datetime(unique, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.95:
            return "datetime"
    n_words = unique.str.split().str.len()
    if n_words.mean() >= 4 and len(unique) >= 0.3 * min(len(sample), _SAMPLE):
        return "text"
    return "categorical"


def infer_feature_types(frame: pd.DataFrame, columns: list[str] | None = None) -> dict[str, FeatureType]:
    """:func:`infer_feature_type` for each of ``columns`` (default: all)."""
    return {c: infer_feature_type(frame[c]) for c in (columns if columns is not None else frame.columns)}


# ------------------------------------------------------------------------------- small transformers


class _ToFloat(BaseEstimator, TransformerMixin):
    """Numbers (or number-like text) as float, infinities as missing."""

    def fit(self, X: pd.DataFrame, y: object = None) -> _ToFloat:
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        out = np.column_stack(
            [pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for c in X.columns]
        )
        out[~np.isfinite(out)] = np.nan
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


class _ToBool(BaseEstimator, TransformerMixin):
    """true/false words, numbers or booleans as 1.0/0.0, anything else missing."""

    def fit(self, X: pd.DataFrame, y: object = None) -> _ToBool:
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in X.columns:
            s = X[c]
            if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
                cols.append(pd.to_numeric(s, errors="coerce").astype(float).to_numpy(na_value=np.nan))
                continue
            low = s.astype("string").str.strip().str.lower()
            cols.append(np.where(low.isin(_TRUE), 1.0, np.where(low.isin(_FALSE), 0.0, np.nan)))
        return np.column_stack(cols).astype(float)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


class _ToLabels(BaseEstimator, TransformerMixin):
    """Category levels as text, missing as its own level."""

    def fit(self, X: pd.DataFrame, y: object = None) -> _ToLabels:
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [X[c].astype(object).where(X[c].notna(), "__missing__").astype(str).to_numpy() for c in X.columns]
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


class DatetimeParts(BaseEstimator, TransformerMixin):
    """Calendar parts of date columns: days since epoch, year, month, day, weekday, hour.

    ``fit`` keeps the parts that vary on the training rows (an all-midnight column has no hour).
    """

    _PARTS = ("days", "year", "month", "day", "weekday", "hour")

    def fit(self, X: pd.DataFrame, y: object = None) -> DatetimeParts:
        parts = self._parts(X)
        self.columns_ = list(X.columns)
        self.keep_ = [n for n, values in parts.items() if np.isfinite(values).sum() > 1 and np.nanstd(values) > 0]
        if not self.keep_ and parts:
            self.keep_ = [next(iter(parts))]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        parts = self._parts(X)
        return np.column_stack([parts[name] for name in self.keep_]) if self.keep_ else np.empty((len(X), 0))

    def _parts(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for c in X.columns:
            raw = X[c]
            if pd.api.types.is_datetime64_any_dtype(raw.dtype):
                ts = raw
                if getattr(ts.dt, "tz", None) is not None:
                    ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
            else:
                ts = pd.to_datetime(_on_epoch_day(raw), errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
            ts = ts.astype("datetime64[ns]")

            def part(values: pd.Series) -> np.ndarray:
                return values.astype(float).to_numpy(dtype=float, na_value=np.nan)  # NaT -> NaN

            out[f"{c}__days"] = part((ts - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0)
            out[f"{c}__year"] = part(ts.dt.year)
            out[f"{c}__month"] = part(ts.dt.month)
            out[f"{c}__day"] = part(ts.dt.day)
            out[f"{c}__weekday"] = part(ts.dt.day_of_week)
            out[f"{c}__hour"] = part(ts.dt.hour)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.keep_, dtype=object)


def _on_epoch_day(raw: pd.Series) -> pd.Series:
    """Times of day (``datetime.time`` from a CSV or Parquet time column, or "08:30" text) put on 1970-01-01.

    pandas cannot convert ``datetime.time`` at all, and reads a bare "08:30" as today at 08:30:
    on 1970-01-01 both become a time of day that does not depend on when the probes ran.
    """
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw.dtype):
        return raw
    if not any(_is_time_of_day(v) for v in raw.dropna().iloc[:_SAMPLE]):
        return raw  # ordinary dates: no per-value pass

    def one(v: object) -> object:
        if not _is_time_of_day(v):
            return v
        return _dt.datetime.combine(_dt.date(1970, 1, 1), v) if isinstance(v, _dt.time) else f"1970-01-01 {v.strip()}"

    return raw.map(one)


def _is_time_of_day(v: object) -> bool:
    return isinstance(v, _dt.time) or (isinstance(v, str) and _TIME_OF_DAY.fullmatch(v) is not None)


class TextEmbedding(BaseEstimator, TransformerMixin):
    """Free text as hashed TF-IDF reduced by truncated SVD (latent semantic analysis).

    Hashing keeps memory bounded whatever the vocabulary; the SVD rank is capped by the number
    of training rows. Deerwester et al. (1990), "Indexing by latent semantic analysis".
    """

    def __init__(self, *, n_components: int = 32, n_hash: int = 2**15, random_state: int = 0) -> None:
        self.n_components = n_components
        self.n_hash = n_hash
        self.random_state = random_state

    def _texts(self, X: pd.DataFrame | pd.Series) -> list[str]:
        series = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else X
        return series.astype(object).where(series.notna(), "").astype(str).tolist()

    def fit(self, X: pd.DataFrame, y: object = None) -> TextEmbedding:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

        self.hasher_ = HashingVectorizer(n_features=self.n_hash, alternate_sign=False, norm=None)
        counts = self.hasher_.transform(self._texts(X))
        self.tfidf_ = TfidfTransformer().fit(counts)
        weighted = self.tfidf_.transform(counts)
        k = max(1, min(self.n_components, weighted.shape[0] - 1, weighted.nnz))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state).fit(weighted)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return self.svd_.transform(self.tfidf_.transform(self.hasher_.transform(self._texts(X))))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray([f"svd{i}" for i in range(self.svd_.n_components)], dtype=object)


# ------------------------------------------------------------------------------- the pipeline


class Preprocessor(BaseEstimator, TransformerMixin):
    """Turn a mixed-type feature frame into a dense float32 matrix.

    Parameters
    ----------
    feature_types:
        Column -> type, from :func:`infer_feature_types` (the ``TaskSet`` carries it).
    max_categories:
        Cap on one-hot columns per categorical feature; rarer and unseen levels share one column.
    text_components:
        SVD rank of each text feature.
    random_state:
        Seed of the text SVD.

    Examples
    --------
    >>> pre = Preprocessor(feature_types={"x": "numeric", "colour": "categorical"})
    >>> matrix = pre.fit(train_frame).transform(test_frame)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        feature_types: dict[str, str],
        max_categories: int = 20,
        text_components: int = 32,
        random_state: int = 0,
    ) -> None:
        self.feature_types = feature_types
        self.max_categories = max_categories
        self.text_components = text_components
        self.random_state = random_state

    def _column_transformer(self):
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        by_type: dict[str, list[str]] = {t: [] for t in FEATURE_TYPES}
        for column, ftype in self.feature_types.items():
            by_type[ftype].append(column)
        parts = []
        if by_type["numeric"]:
            parts.append(
                (
                    "numeric",
                    make_pipeline(_ToFloat(), SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                    by_type["numeric"],
                )
            )
        if by_type["boolean"]:
            parts.append(
                ("boolean", make_pipeline(_ToBool(), SimpleImputer(strategy="most_frequent")), by_type["boolean"])
            )
        if by_type["categorical"]:
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=self.max_categories,
                sparse_output=False,
                dtype=np.float32,
            )
            parts.append(("categorical", make_pipeline(_ToLabels(), encoder), by_type["categorical"]))
        if by_type["datetime"]:
            parts.append(
                (
                    "datetime",
                    make_pipeline(
                        DatetimeParts(), SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                    ),
                    by_type["datetime"],
                )
            )
        for column in by_type["text"]:
            parts.append(
                (
                    f"text:{column}",
                    make_pipeline(
                        TextEmbedding(n_components=self.text_components, random_state=self.random_state),
                        StandardScaler(),
                    ),
                    [column],
                )
            )
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True)

    def fit(self, X: pd.DataFrame, y: object = None) -> Preprocessor:
        """Learn imputation values, scales, levels and text axes from ``X`` (training rows only)."""
        if len(X) == 0:
            raise ValueError("Preprocessor.fit needs at least one row.")
        self.transformer_ = self._column_transformer().fit(X)
        self.n_features_out_ = int(self.transformer_.transform(X.iloc[:1]).shape[1])
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The float32 design matrix of ``X`` under what ``fit`` learned."""
        if not hasattr(self, "transformer_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("Preprocessor is not fitted; call fit(training_rows) first.")
        out = np.asarray(self.transformer_.transform(X), dtype=np.float32)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.transformer_.get_feature_names_out()
