"""Model data from Python: pandas or polars data frames, or a mapping of names to arrays, turned into
the columns the native models read (float64 and int64 arrays, lists of str for factors), with rows
that have a missing value in a used column dropped (lme4's ``na.omit``)."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _parsim

Column = Tuple[str, Any]


def _kind(data: Any) -> str:
    module = type(data).__module__
    if module.startswith("pandas") and hasattr(data, "columns"):
        return "pandas DataFrame"
    if module.startswith("polars") and hasattr(data, "get_column"):
        return "polars DataFrame"
    if isinstance(data, Mapping):
        return "dict of arrays"
    raise TypeError(
        "data must be a pandas or polars DataFrame or a dict of numpy arrays, got "
        f"{type(data).__module__}.{type(data).__qualname__}"
    )


def _names(data: Any, kind: str) -> List[str]:
    if kind == "dict of arrays":
        return [str(k) for k in data.keys()]
    return [str(c) for c in data.columns]


def _text(values: Any) -> Tuple[List[str], Optional[np.ndarray]]:
    """Categorical values as text (``True``/``False`` as R's ``TRUE``/``FALSE``), with their
    missing mask (None, NaN, pandas' NA)."""
    out: List[str] = []
    missing = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v) or _is_na(v):
            missing[i] = True
            out.append("")
        elif isinstance(v, (bool, np.bool_)):
            out.append("TRUE" if v else "FALSE")
        else:
            out.append(str(v))
    return out, (missing if missing.any() else None)


def _is_na(v: Any) -> bool:
    return type(v).__name__ in ("NAType", "NaTType")


def _array(name: str, values: Any) -> Tuple[Any, Optional[np.ndarray]]:
    """One column as (float64 or int64 array, or list of str; missing mask or None)."""
    kind = values.dtype.kind if isinstance(values, np.ndarray) else None
    if kind == "f":
        array = values if values.dtype == np.float64 else values.astype(np.float64)
        missing = np.isnan(array)
        return array, (missing if missing.any() else None)
    if kind in ("i", "u"):
        return (values if values.dtype == np.int64 else values.astype(np.int64)), None
    if kind == "b":
        return ["TRUE" if v else "FALSE" for v in values], None
    if kind in ("U", "S", "O"):
        return _text(values)
    if kind is None:
        return _array(name, np.asarray(values))
    raise TypeError(f"column '{name}' has dtype {values.dtype}, which parsim cannot model")


def _pandas_values(data: Any, name: str) -> Any:
    """The values of a pandas column: a numpy array or a pandas extension array. pandas' own
    ``_get_column_array`` reads them without building a Series, ten times faster (1 µs against
    10), which is most of what a refit from Python costs; plain ``data[name]`` where it is missing."""
    get = getattr(data, "_get_column_array", None)
    if get is not None:
        loc = data.columns.get_loc(name)
        if isinstance(loc, int):
            return get(loc)
    column = data[name]
    if getattr(column, "ndim", 1) != 1:
        raise _parsim.FitError(f"pandas DataFrame: the column name '{name}' appears more than once")
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def _pandas_column(name: str, values: Any) -> Tuple[Any, Optional[np.ndarray]]:
    if isinstance(values, np.ndarray):
        return _array(name, values)
    dtype = values.dtype
    kind = getattr(dtype, "kind", "O")
    if kind in ("i", "u", "f") and getattr(dtype, "name", "") != "category":
        # pandas' nullable numbers (Int64, Float64): their NA masked, then plain arrays.
        missing = np.asarray(values.isna(), dtype=bool)
        if kind == "f":
            array = values.to_numpy(dtype=np.float64, na_value=np.nan)
            missing = missing | np.isnan(array)
        else:
            array = values.to_numpy(dtype=np.int64, na_value=0)
        return array, (missing if missing.any() else None)
    # Categorical, string, nullable boolean: their values as text.
    return _text(np.asarray(values, dtype=object))


def _polars_column(name: str, series: Any) -> Tuple[Any, Optional[np.ndarray]]:
    dtype = series.dtype
    if dtype.is_numeric():
        if dtype.is_float():
            values = series.fill_null(float("nan")).to_numpy().astype(np.float64, copy=False)
            missing = np.isnan(values)
        else:
            missing = series.is_null().to_numpy()
            values = series.fill_null(0).to_numpy().astype(np.int64, copy=False)
        return values, (missing if missing.any() else None)
    return _text(series.to_list())  # strings, categoricals, enums, booleans


def columns(data: Any, names: Sequence[str]) -> Tuple[List[Column], int, str]:
    """The columns ``names`` of ``data`` as the native model reads them, the complete cases only:
    (columns, rows dropped, a name for the data in messages)."""
    kind = _kind(data)
    out: List[Column] = []
    masks: List[np.ndarray] = []
    for name in names:
        if name not in (data if kind == "dict of arrays" else data.columns):
            available = _names(data, kind)
            note = _parsim.unknown_column_note(name, available)
            raise _parsim.FitError(
                f"{kind}: no column '{name}'{note}; the columns are: {', '.join(available)}"
            )
        if kind == "pandas DataFrame":
            values, missing = _pandas_column(name, _pandas_values(data, name))
        elif kind == "polars DataFrame":
            values, missing = _polars_column(name, data.get_column(name))
        else:
            values, missing = _array(name, data[name])
        out.append((name, values))
        if missing is not None:
            masks.append(missing)
    if not masks:
        return out, 0, kind
    drop = np.logical_or.reduce(masks) if len(masks) > 1 else masks[0]
    keep = ~drop
    dropped = int(drop.sum())
    if dropped == len(drop):
        raise _parsim.FitError(
            f"{kind}: no rows without missing values in the columns the formula uses"
        )
    complete = [
        (n, v[keep] if isinstance(v, np.ndarray) else [x for x, k in zip(v, keep) if k])
        for n, v in out
    ]
    return complete, dropped, kind
