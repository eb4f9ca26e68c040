import metarl  # noqa: F401  (registers the env ids)
