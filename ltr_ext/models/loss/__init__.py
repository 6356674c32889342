"""Training losses: Lovász hinge and binary Lovász-Softmax (segmentation), DiMP hinge (classification)."""
