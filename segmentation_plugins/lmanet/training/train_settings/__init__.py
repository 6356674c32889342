"""``run_training lmanet PRESET``: one settings module per preset (entry point ``ltr_ext.train_settings``: lmanet)."""
