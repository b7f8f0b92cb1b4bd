from typing import Optional, Sequence, Union
import os

import scipy.sparse

from . import datasets as datasets
from ._recdiff import (DiffRec as DiffRec, EASE as EASE, ItemKNN as ItemKNN, LDiffRec as LDiffRec, MostPopular as MostPopular,
                       RP3beta as RP3beta, TDiffRec as TDiffRec, _InteractionModel, __version__ as __version__)

def evaluate(model: _InteractionModel, train: scipy.sparse.csr_matrix, test: scipy.sparse.csr_matrix,
             k: Union[int, Sequence[int]] = (10, 20), exclude: Optional[scipy.sparse.csr_matrix] = None,
             average: str = "all") -> dict[str, float]: ...
def load(path: Union[str, os.PathLike[str]]) -> _InteractionModel: ...
