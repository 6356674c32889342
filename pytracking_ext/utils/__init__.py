"""Small shared helpers: file I/O, boxes and masks."""
