"""Finding the same person twice: Korean-aware name normalisation and (later) record linkage."""
