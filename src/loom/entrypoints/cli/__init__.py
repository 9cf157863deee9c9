"""The cyclopts CLI: thin commands that map flags to config, call one use-case, render the result."""
