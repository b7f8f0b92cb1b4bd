from typing import Optional, Sequence, Union, overload
import os

import numpy as np
import numpy.typing as npt

import scipy.sparse

from . import datasets as datasets
from ._recdiff import (DiffRec as DiffRec, DiffuRec as DiffuRec, DreamRec as DreamRec, EASE as EASE, ItemKNN as ItemKNN,
                       LDiffRec as LDiffRec, MostPopular as MostPopular, RP3beta as RP3beta, TDiffRec as TDiffRec,
                       _InteractionModel, _SequenceModel, __version__ as __version__)

@overload
def evaluate(model: _InteractionModel, train: scipy.sparse.csr_matrix, test: scipy.sparse.csr_matrix,
             k: Union[int, Sequence[int]] = (10, 20), exclude: Optional[scipy.sparse.csr_matrix] = None,
             average: str = "all", protocol: str = "default",
             validation: Optional[scipy.sparse.csr_matrix] = None) -> dict[str, float]: ...
@overload
def evaluate(model: _SequenceModel, train: Sequence[Union[Sequence[int], npt.NDArray[np.integer]]],
             test: npt.ArrayLike, k: Union[int, Sequence[int]] = (10, 20), exclude: None = None, average: str = "all",
             protocol: str = "default", validation: None = None) -> dict[str, float]: ...
def load(path: Union[str, os.PathLike[str]]) -> Union[_InteractionModel, _SequenceModel]: ...
