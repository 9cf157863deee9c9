"""Fakes for Loom's tests: small working implementations, not mocks.

- llm_server.FakeLLMServer: a real HTTP fake of the Anthropic Messages, OpenAI Chat Completions
  and OpenAI Responses APIs (scripted replies, errors, delays, a record of every request).
- bin/claude, bin/codex: fake subscription CLIs (logic and env knobs in fake_cli.py).
- plugin.py: the pytest fixtures `fake_llm`, `fake_llm_server`, `fake_cli_bin`.
"""
