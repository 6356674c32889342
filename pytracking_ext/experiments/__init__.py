"""Experiment modules for ``run_experiment``: functions returning ``(trackers, dataset)``."""
