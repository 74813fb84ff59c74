"""Recipes: the complete training procedures the book's case studies chose on
validation data, one module per data set.

A recipe fixes everything that decides a result (features, architecture,
initialisation, optimiser, schedule, regularisation, augmentation, epochs,
seeds), so that the chapter, the tests and the ``dlfs`` command train exactly
the same model.  See :mod:`dlfs.recipes.cats`,
:mod:`dlfs.recipes.mnist` and :mod:`dlfs.recipes.mnist_cnn`.
"""
