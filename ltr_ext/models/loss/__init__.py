"""Training losses (Lovász hinge and binary Lovász-Softmax)."""
