"""Type stubs of parsim's native module (crates/parsim-python). Use the package's public API
(``parsim.lmer``, ``parsim.ols``, ``parsim.glm``, ``parsim.glmer``, ``parsim.Study``); this module is its implementation."""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class ParsimError(Exception):
    """Base class of parsim's errors."""

class FitError(ParsimError):
    """A model that cannot be fitted; the message names the column, row or term."""

class StudyError(ParsimError):
    """A study that cannot be loaded, checked or run; the message names file, line and column."""

_Column = Tuple[str, Any]  # (name, float64 or int64 numpy array, or list of str)
_CoefColumns = Tuple[
    List[str], List[float], List[float], List[float], List[float], List[float], List[float], List[float]
]
# term, estimate, se, z, p, ci_lower, ci_upper
_ZCoefColumns = Tuple[List[str], List[float], List[float], List[float], List[float], List[float], List[float]]
_VarCorrColumns = Tuple[List[str], List[Optional[str]], List[Optional[str]], List[float], List[float]]
# None, a coding for every categorical variable ("sum"), or {variable: coding}
_Contrasts = Union[None, str, Mapping[str, str]]

class Model:
    @staticmethod
    def lmm(
        formula: str,
        reml: bool = True,
        level: float = 0.95,
        weights: Optional[str] = None,
        contrasts: _Contrasts = None,
    ) -> "Model": ...
    @staticmethod
    def ols(
        formula: str,
        cluster: Optional[str] = None,
        level: float = 0.95,
        weights: Optional[str] = None,
        contrasts: _Contrasts = None,
    ) -> "Model": ...
    @staticmethod
    def glm(
        formula: str,
        family: str,
        link: Optional[str] = None,
        cluster: Optional[str] = None,
        level: float = 0.95,
        weights: Optional[str] = None,
        contrasts: _Contrasts = None,
    ) -> "Model": ...
    @staticmethod
    def glmm(
        formula: str,
        family: str,
        link: Optional[str] = None,
        nagq: int = 1,
        level: float = 0.95,
        weights: Optional[str] = None,
        contrasts: _Contrasts = None,
    ) -> "Model": ...
    @property
    def formula(self) -> str: ...
    @property
    def variables(self) -> List[str]: ...
    def fit(self, columns: Sequence[_Column], data: str, dropped: int) -> Any: ...

class LmmResult:
    def coef_columns(self) -> _CoefColumns: ...
    def varcorr_columns(self) -> _VarCorrColumns: ...
    def values(self) -> Dict[str, Any]: ...
    def summary(self) -> str: ...

class OlsResult:
    def coef_columns(self) -> _CoefColumns: ...
    def values(self) -> Dict[str, Any]: ...
    def summary(self) -> str: ...

class GlmResult:
    def coef_columns(self) -> _ZCoefColumns: ...
    def values(self) -> Dict[str, Any]: ...
    def summary(self) -> str: ...

class GlmmResult:
    def coef_columns(self) -> _ZCoefColumns: ...
    def varcorr_columns(self) -> _VarCorrColumns: ...
    def values(self) -> Dict[str, Any]: ...
    def summary(self) -> str: ...

def unknown_column_note(name: str, columns: List[str]) -> str: ...

class Study:
    @staticmethod
    def load(path: str) -> "Study": ...
    @staticmethod
    def from_toml(text: str, path: str) -> "Study": ...
    name: str
    path: str
    source: str
    replications: int
    seed: int
    def conditions(self) -> List[Tuple[int, List[Tuple[str, float]]]]: ...
    def methods(self) -> List[Tuple[str, str, str]]: ...
    def check(self) -> Tuple[str, List[Tuple[str, List[str]]], List[str]]: ...
    def data(self, condition: int, replication: int) -> List[_Column]: ...
    def run(
        self,
        out: str,
        jobs: Optional[int] = None,
        replications: Optional[int] = None,
        fresh: bool = False,
        observer: Any = None,
    ) -> dict: ...

def summary_csv(
    dir: str, level: Optional[float] = None, alpha: Optional[float] = None, reference: Optional[str] = None
) -> str: ...
def fits(
    dir: str,
) -> Tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    List[str],
    List[str],
    List[Optional[str]],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]: ...
