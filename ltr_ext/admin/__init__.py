"""Training administration: environment, settings, constructors, checkpoints, loading, statistics."""
