"""``run_training evs icnet|refiner`` (entry point ``ltr_ext.train_settings``: evs); presets in ../presets.py."""
