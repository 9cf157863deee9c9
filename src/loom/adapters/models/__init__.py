"""LLM providers: the eight model-port adapters."""
