"""Training data: batching (LTRLoader with stack_dim), TensorDict/TensorList."""
