"""RTS network parts (thesis ch. 5); the full ``build_rts50`` lands with the remaining modules."""
