"""Masked training and recipes."""
from zoo_builder.training.masked import History, Masker, TrainingDiverged, evaluate, train
from zoo_builder.training.recipes import RECIPES, Recipe, get as get_recipe

__all__ = ["History", "Masker", "RECIPES", "Recipe", "TrainingDiverged", "evaluate", "get_recipe", "train"]
