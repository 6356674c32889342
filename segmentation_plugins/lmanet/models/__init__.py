"""LMANet networks: ERFNet backbone, key/value heads, local/global memory read, gated fusion."""
