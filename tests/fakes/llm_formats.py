"""Wire shapes of the fake LLM server: Anthropic Messages, OpenAI Chat Completions, Responses."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.llm_server import FakeRequest, Reply

_ids = itertools.count(1)
MALFORMED_JSON = '{"is_bug": tru, "summary": '  # what a broken model emits
MALFORMED_INPUT = {"_malformed": "arguments that do not match the schema"}
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4.1-mini", "fake-model",
          "anthropic/claude-sonnet-4.5", "openai/gpt-4.1-mini", "fake/no-tools-model")


def _id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):06d}"


def _out_tokens(reply: "Reply", fallback: int | None) -> int:
    if fallback is not None:
        return fallback
    text = reply.text if reply.text is not None else json.dumps(reply.tool_args or {})
    return max(1, len(text) // 4)


def _args_json(reply: "Reply") -> str:
    return MALFORMED_JSON if reply.malformed else json.dumps(reply.tool_args or {})


def error_body(api: str | None, status: int, message: str = "") -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    message = message or f"fake LLM scripted HTTP {status}"
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status), "param": None}}


def models_list(models: tuple[str, ...] | list[str] = MODELS) -> dict[str, Any]:
    """Anthropic + OpenAI + OpenRouter shapes at once; ids with "no-tools" lack tool support."""
    data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z",
             "object": "model", "created": 1735689600, "owned_by": "fake", "name": m,
             "supported_parameters": ["max_tokens", "temperature"] + ([] if "no-tools" in m else ["tools", "tool_choice"])}
            for m in models]
    return {"data": data, "has_more": False, "first_id": models[0], "last_id": models[-1], "object": "list"}


# ---- Anthropic Messages ------------------------------------------------------------------
def _anthropic_blocks(req: "FakeRequest", reply: "Reply") -> list[dict[str, Any]]:
    if req.tool_name and (reply.tool_args is not None or reply.malformed):
        args = MALFORMED_INPUT if reply.malformed else reply.tool_args
        return [{"type": "tool_use", "id": _id("toolu"), "name": req.tool_name, "input": args}]
    if reply.malformed:  # malformed with no tool: text where a tool call was expected
        return [{"type": "text", "text": MALFORMED_JSON}]
    return [{"type": "text", "text": reply.text or ""}]


def anthropic_message(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> dict[str, Any]:
    blocks = _anthropic_blocks(req, reply)
    return {
        "id": _id("msg"), "type": "message", "role": "assistant", "model": req.model,
        "content": blocks,
        "stop_reason": "tool_use" if blocks[0]["type"] == "tool_use" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": _out_tokens(reply, usage[1]),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def _chunks(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def anthropic_stream(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> list[tuple[str, Any]]:
    full = anthropic_message(req, reply, usage)
    start = {**full, "content": [], "stop_reason": None,
             "usage": {**full["usage"], "output_tokens": 1}}
    events: list[tuple[str, Any]] = [("message_start", {"type": "message_start", "message": start}),
                                     ("ping", {"type": "ping"})]
    for index, block in enumerate(full["content"]):
        if block["type"] == "tool_use":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                           "content_block": {**block, "input": {}}}))
            for part in _chunks(json.dumps(block["input"])):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                               "delta": {"type": "input_json_delta", "partial_json": part}}))
        else:
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": ""}}))
            for part in _chunks(block["text"]):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                               "delta": {"type": "text_delta", "text": part}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                   "delta": {"stop_reason": full["stop_reason"], "stop_sequence": None},
                   "usage": {"output_tokens": full["usage"]["output_tokens"]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# ---- OpenAI Chat Completions -------------------------------------------------------------
def chat_completion(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> dict[str, Any]:
    out = _out_tokens(reply, usage[1])
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if req.tool_name and (reply.tool_args is not None or reply.malformed):
        message["tool_calls"] = [{"id": _id("call"), "type": "function",
                                  "function": {"name": req.tool_name, "arguments": _args_json(reply)}}]
        finish = "tool_calls"
    else:
        message["content"] = MALFORMED_JSON if reply.malformed else (reply.text or "")
        finish = "stop"
    return {
        "id": _id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
        "model": req.model, "choices": [{"index": 0, "message": message, "finish_reason": finish,
                                         "logprobs": None}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": out, "total_tokens": usage[0] + out},
    }


def chat_stream(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> list[tuple[None, Any]]:
    full = chat_completion(req, reply, usage)
    msg = full["choices"][0]["message"]
    base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": req.model}
    events: list[tuple[None, Any]] = [(None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                                   "finish_reason": None}]})]
    if msg.get("tool_calls"):
        call = msg["tool_calls"][0]
        events.append((None, {**base, "choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
            {"index": 0, "id": call["id"], "type": "function",
             "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}]}}]}))
    else:
        for part in _chunks(msg["content"] or ""):
            events.append((None, {**base, "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]}))
    events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": full["choices"][0]["finish_reason"]}],
                          "usage": full["usage"]}))
    events.append((None, "[DONE]"))
    return events


# ---- OpenAI Responses --------------------------------------------------------------------
def responses_response(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> dict[str, Any]:
    out = _out_tokens(reply, usage[1])
    if req.tool_name and (reply.tool_args is not None or reply.malformed):
        output = [{"type": "function_call", "id": _id("fc"), "call_id": _id("call"), "name": req.tool_name,
                   "arguments": _args_json(reply), "status": "completed"}]
        text = ""
    else:
        text = MALFORMED_JSON if reply.malformed else (reply.text or "")
        output = [{"type": "message", "id": _id("msg"), "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    return {
        "id": _id("resp"), "object": "response", "created_at": int(time.time()), "status": "completed",
        "model": req.model, "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": req.body.get("tools") or [], "error": None, "incomplete_details": None,
        "instructions": req.body.get("instructions"), "metadata": {}, "temperature": req.body.get("temperature"),
        "top_p": None,
        "usage": {"input_tokens": usage[0], "output_tokens": out, "total_tokens": usage[0] + out,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def responses_stream(req: "FakeRequest", reply: "Reply", usage: tuple[int, int | None]) -> list[tuple[str, Any]]:
    """The Responses API event sequence: created, item added, deltas, item done, completed."""
    full = responses_response(req, reply, usage)
    seq = itertools.count()
    events: list[tuple[str, Any]] = []

    def add(kind: str, **data: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": next(seq), **data}))

    add("response.created", response={**full, "status": "in_progress", "output": [], "usage": None})
    for index, item in enumerate(full["output"]):
        if item["type"] == "function_call":
            add("response.output_item.added", output_index=index, item={**item, "arguments": "", "status": "in_progress"})
            for part in _chunks(item["arguments"]):
                add("response.function_call_arguments.delta", output_index=index, item_id=item["id"], delta=part)
            add("response.function_call_arguments.done", output_index=index, item_id=item["id"],
                arguments=item["arguments"], name=item["name"])
        else:
            text = item["content"][0]["text"]
            add("response.output_item.added", output_index=index,
                item={**item, "content": [], "status": "in_progress"})
            add("response.content_part.added", output_index=index, item_id=item["id"], content_index=0,
                part={"type": "output_text", "text": "", "annotations": []})
            for part in _chunks(text):
                add("response.output_text.delta", output_index=index, item_id=item["id"], content_index=0,
                    delta=part, logprobs=[])
            add("response.output_text.done", output_index=index, item_id=item["id"], content_index=0,
                text=text, logprobs=[])
            add("response.content_part.done", output_index=index, item_id=item["id"], content_index=0,
                part=item["content"][0])
        add("response.output_item.done", output_index=index, item=item)
    add("response.completed", response=full)
    return events
