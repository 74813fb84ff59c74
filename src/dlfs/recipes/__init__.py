"""Recipes: the complete training procedures the book's case studies chose on
validation data, one module per model.

A recipe fixes everything that decides a result (features, architecture,
initialisation, optimiser, schedule, regularisation, augmentation, epochs,
seeds), so that the chapter, the tests and the ``dlfs`` command train exactly
the same model.  Every recipe module has the same shape
(:mod:`dlfs.recipes._common`, :mod:`dlfs.recipes.selection`):

* ``RECIPE``, a frozen, checked configuration; ``RECIPE.with_(epochs=3)`` is
  a changed copy, and an option the recipe does not have is a ValueError;
* ``train(recipe, data=None, *, seed=0, progress=False)``, which trains once
  on training data, watching validation data, and returns a
  :class:`~dlfs.recipes._common.Result` whose test fields are None: it
  never reads the test set;
* ``final_test(result, test=None)``, the module's one reader of the test set,
  which returns the result with ``test_loss`` and ``test_accuracy`` filled;
  it is called once per final model, after every choice is made;
* ``final_runs(recipe=RECIPE, seeds=...)``, the final models (trained through
  :func:`~dlfs.recipes._common.cached`, then tested once each), whose mean and
  standard deviation (:func:`~dlfs.recipes.selection.mean_sd`) the chapters report;
* ``CANDIDATES``, named changes to the recipe the search started from, and
  ``python -m dlfs.recipes.<name> --search``, which scores them on validation
  data and writes the table ``searches/<name>.json``; ``RECIPE`` is its chosen
  row (a test checks it).

See :mod:`dlfs.recipes.cats`, :mod:`dlfs.recipes.mnist` and
:mod:`dlfs.recipes.mnist_cnn`.  Recipes import the library's modules, never
:mod:`dlfs.cli`.
"""
