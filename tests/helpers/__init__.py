"""Helpers the tests share, imported one way: `from helpers.<module> import ...` (pyproject's
pytest `pythonpath = ["tests"]` puts this package on the path)."""
