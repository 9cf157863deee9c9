"""FakeModel: a ModelPort that answers like the fake LLM server, in-process (no HTTP).

Text requests get `llm_replies.default_text`, tool requests `llm_replies.default_tool_args`.
It counts its calls per kind, so a test can check which run's port a call reached.
"""

from __future__ import annotations

import threading

from loom.domain.llm import ChatRequest, ChatResponse, Usage
from tests.fakes import llm_replies


class FakeModel:
    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.text_calls = 0
        self.tool_calls = 0
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> ChatResponse:
        prompt = f"{request.system or ''}\n{request.user or ''}"
        usage = Usage(input_tokens=len(prompt) // 4, output_tokens=50, usd=None)
        with self._lock:
            if request.tool is not None:
                self.tool_calls += 1
            else:
                self.text_calls += 1
        if request.tool is not None:
            args = llm_replies.default_tool_args(request.tool.parameters, prompt)
            return ChatResponse(None, args, usage, self.name, request.model)
        return ChatResponse(llm_replies.default_text(prompt), None, usage, self.name, request.model)
