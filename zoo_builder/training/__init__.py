"""Masked training and recipes.

``import zoo_builder.training`` imports no torch: the recipe registry (``RECIPES``, ``Recipe``,
``get_recipe``) needs none, and the training names (``train``, ``evaluate``, ``Masker``, ``History``,
``TrainingDiverged``) and the submodule ``masked`` load :mod:`zoo_builder.training.masked` (torch) on
first access (PEP 562), so that validating a config file starts without torch.
"""
from paistats._lazy import lazy_attributes
from zoo_builder.training.recipes import RECIPES, Recipe, get as get_recipe

__all__ = ["History", "Masker", "RECIPES", "Recipe", "TrainingDiverged", "evaluate", "get_recipe", "train"]

# ``masked``: the submodule, as when this package imported it eagerly
__getattr__, __dir__ = lazy_attributes(__name__, {name: "masked" for name in (
    "History", "Masker", "TrainingDiverged", "evaluate", "train")}, modules=("masked",))
