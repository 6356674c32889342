"""Example train settings (``python -m ltr_ext.run_training examples tiny``)."""
