"""Model builders: nemo (NeMo AutoModel recipes, GPU), local (PPMI+SVD on CPU)."""
