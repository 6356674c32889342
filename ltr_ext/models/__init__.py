"""Networks of the training side (pure ``nn.Module``s; trackers own the online state)."""
