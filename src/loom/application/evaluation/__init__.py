"""Evaluation shared by the verbs: table helpers, the leak detectors (eda, validate, features and
the leak screen of `loom run`), splits, metrics and intervals.

Every module imports pandas / numpy / scikit-learn inside functions, so importing this package
costs nothing.
"""
