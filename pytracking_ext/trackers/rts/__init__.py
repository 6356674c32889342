"""RTS tracker (thesis ch. 5): tracker-side state, memories and geometry."""
