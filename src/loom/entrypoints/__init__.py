"""Driving side: the cyclopts CLI, the gateway server, and the dependency-injector container."""
