"""RTS parameter sets: ``rts50`` (the release, faithful) and variants."""
