"""Recipes: the complete, selected training procedures of the book's case studies.

A recipe fixes everything a chapter chose on validation data (features,
architecture, initialisation, optimiser, regularisation, augmentation,
epochs), so that the chapter, the tests and the ``dlfs`` command train the
same model.  See :mod:`dlfs.recipes.cats`.
"""
