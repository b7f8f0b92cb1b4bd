"""The package itself: the generated type stubs (python/stubgen.py) list every keyword of every model with the
defaults the C++ options have, and the module says its version."""

import ast
import keyword
import os

import recdiff
from recdiff import _recdiff

MODELS = ["DiffRec", "DiffuRec", "DreamRec", "EASE", "ItemKNN", "LDiffRec", "MostPopular", "RP3beta", "TDiffRec"]


def stub_classes():
    path = os.path.join(os.path.dirname(_recdiff.__file__), "_recdiff.pyi")
    tree = ast.parse(open(path).read())
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def test_every_model_is_exported_and_stubbed():
    classes = stub_classes()
    for name in MODELS:
        assert getattr(recdiff, name) is getattr(_recdiff, name)
        assert name in classes, name
    assert recdiff.__version__.count(".") == 2


def test_stub_keywords_and_defaults_are_the_field_tables():
    classes = stub_classes()
    for name in MODELS:
        cls = getattr(recdiff, name)
        init = next(f for f in classes[name].body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
        stubbed = {a.arg: ast.literal_eval(d) for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults)}
        names = [n for names, _, _, _ in cls._keywords() for n in names if not keyword.iskeyword(n)]
        assert list(stubbed) == names, name
        # Every stubbed default, given back as a keyword (first stubbed name of each field), builds the default
        # model.
        first = {}
        for names, _, _, _ in cls._keywords():
            usable = [n for n in names if not keyword.iskeyword(n)]
            first[usable[0]] = stubbed[usable[0]]
        assert cls(**first).hyperparameters() == cls().hyperparameters(), name
