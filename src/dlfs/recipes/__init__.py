"""Recipes: the book's tested training set-ups, one module per dataset.

A recipe fixes everything that decides a result (architecture, optimiser,
schedule, augmentation, epochs, seeds), so the command line
(``dlfs train mnist``) and the chapters train exactly the same model.
"""
