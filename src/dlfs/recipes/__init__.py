"""Recipes: the complete training procedures the book's case studies chose on
validation data, one module per model.

A recipe fixes everything that decides a result (features, architecture,
initialisation, optimiser, schedule, regularisation, augmentation, epochs,
seeds), so that the chapter, the tests and the ``dlfs`` command train exactly
the same model.  Every recipe module has the same shape
(:mod:`dlfs.recipes._common`):

* ``RECIPE``, a frozen, checked configuration; ``RECIPE.with_(epochs=3)`` is
  a changed copy, and an option the recipe does not have is a ValueError;
* ``train(recipe, data, *, seed=0, progress=False)``, which trains once,
  tests once and returns a :class:`~dlfs.recipes._common.Result`.

See :mod:`dlfs.recipes.cats`, :mod:`dlfs.recipes.mnist` and
:mod:`dlfs.recipes.mnist_cnn`.  Recipes import the library's modules, never
:mod:`dlfs.cli`.
"""
