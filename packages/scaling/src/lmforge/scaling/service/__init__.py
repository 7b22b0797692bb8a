"""``lmforge scaling serve``: the lab as an HTTP service (see the package README)."""
