"""lmforge-tokenize plugin: registers this package's parts with the lmforge host."""
