"""ltr_ext: LTR-style training (settings, trainer, actors, loaders, samplers, processing)."""
