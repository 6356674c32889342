"""Parameter modules: ``parameter/<tracker>/<param>.py`` each define ``parameters()``."""
