"""Recipes: the book's complete training set-ups, shared by chapters and the CLI."""
