"""LLM understanding backends behind the same `parse(text, language, context) -> Intent` interface.

- `OpenAIChatParser`: any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp
  server, ...) asked for a JSON object that follows `INTENT_SCHEMA` (sent as
  `response_format: json_schema`, and described in the system prompt for servers
  that ignore it). Stdlib HTTP only, so it adds no dependency.
- `TransformersParser`: a local chat-model folder loaded with transformers
  (imported only when this backend is chosen).

Both fall back to the embedded lexicon backend when the model fails, times out
or answers something that is not a valid intent, and say so in the log: the
robot must answer every turn, and the lexicon is always there.
"""
from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

from embodiments.types import COLORS, OBJECT_KINDS

from .intent import FIXTURES, Act, Goal, Intent, Ref
from .lexicon_parser import LexiconParser

log = logging.getLogger(__name__)

ACTIONS = ["pick", "put_in", "put_on", "place_at", "stack", "sort", "swap", "push", "give", "home", "open", "close"]
SIDES = ["left", "right", "front", "back", "middle"]
_REF = {
    "type": ["object", "null"],
    "properties": {
        "kind": {"type": ["string", "null"], "enum": [*OBJECT_KINDS, None]},
        "color": {"type": ["string", "null"], "enum": [*COLORS, None]},
        "quantity": {"type": "string", "enum": ["one", "all"]},
        "side": {"type": ["string", "null"], "enum": [*SIDES, None]},
        "anaphora": {"type": ["string", "null"], "enum": ["it", "them", "other", None]},
        "fixture": {"type": ["string", "null"], "enum": [*FIXTURES, None]},
    },
    "additionalProperties": False,
}
INTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "act": {"type": "string", "enum": [a.value for a in Act]},
        "goal": {"type": ["object", "null"], "properties": {
            "action": {"type": "string", "enum": ACTIONS}, "objects": _REF, "target": _REF,
            "side": {"type": ["string", "null"], "enum": [*SIDES, None]}},
            "required": ["action"], "additionalProperties": False},
        "slot": {"type": ["string", "null"], "enum": ["objects", "target", None]},
        "ref": _REF,
        "question": {"type": ["string", "null"], "enum": ["what", "where", "count", "status", None]},
    },
    "required": ["act"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """You understand requests to a robot arm at a household table. Objects: {kinds}. Colors: {colors}.
Answer with ONE JSON object and nothing else, following this JSON schema:
{schema}
act: new_task (with goal), change (the person changes the object or target of the running task: slot + ref),
stop, resume, cancel, undo (put it back), query (question: what/where/count/status, ref), answer (to "which one?":
ref), chat, unknown. The table, the robot itself, the floor, a wall and a person are not objects: a request to
move one ("lift the table") is a new_task whose objects are {{"fixture": "table"}}. A turn in any language; the
dialogue context is: {context}."""

SAFETY_NOTE = """
Safety: the assistant checks every request against the robot's constitution below and refuses, with the reason,
those that break it. Report what was asked faithfully all the same (a request to throw the ball at someone is
still a new_task about the ball).
"""


def intent_from_json(data: Any, language: str) -> Intent:
    """Validate a model's JSON answer and build the Intent (ValueError when it is not one)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    extra = set(data) - set(INTENT_SCHEMA["properties"])
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)}")
    act = Act(data.get("act"))  # ValueError for an unknown act
    goal = None
    if data.get("goal") is not None:
        g = data["goal"]
        if not isinstance(g, dict) or g.get("action") not in ACTIONS:
            raise ValueError(f"bad goal {g!r}")
        side = g.get("side")
        if side is not None and side not in SIDES:
            raise ValueError(f"bad side {side!r}")
        goal = Goal(g["action"], _ref(g.get("objects")), _ref(g.get("target")), side=side)
    if act is Act.NEW_TASK and goal is None:
        raise ValueError("a new task without a goal")
    slot = data.get("slot")
    if slot not in (None, "objects", "target"):
        raise ValueError(f"bad slot {slot!r}")
    question = data.get("question")
    if question not in (None, "what", "where", "count", "status"):
        raise ValueError(f"bad question {question!r}")
    return Intent(act, goal=goal, slot=slot, ref=_ref(data.get("ref")), question=question, language=language,
                  confidence=0.9)


def _ref(r: Any) -> Ref | None:
    if r is None:
        return None
    if not isinstance(r, dict) or set(r) - set(_REF["properties"]):
        raise ValueError(f"bad reference {r!r}")
    kind, color = r.get("kind"), r.get("color")
    if kind is not None and kind not in OBJECT_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if color is not None and color not in COLORS:
        raise ValueError(f"unknown color {color!r}")
    quantity = r.get("quantity") or "one"
    if quantity not in ("one", "all"):
        raise ValueError(f"bad quantity {quantity!r}")
    side, ana, fixture = r.get("side"), r.get("anaphora"), r.get("fixture")
    if side not in (None, *SIDES) or ana not in (None, "it", "them", "other") or fixture not in (None, *FIXTURES):
        raise ValueError(f"bad reference {r!r}")
    return Ref(kind=kind, color=color, quantity=quantity, side=side, anaphora=ana, fixture=fixture)


def first_json_object(text: str) -> Any:
    """The first balanced {...} in a model's text (models like to wrap JSON in prose or fences)."""
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                try:
                    return json.loads(text[start:i + 1])
                except json.JSONDecodeError:
                    break
        start = text.find("{", start + 1)
    raise ValueError("no JSON object in the answer")


class _FallbackMixin:
    name = "llm"
    fallback: LexiconParser
    fallbacks = 0

    def _fallback(self, why: str, text: str, language: str, context: str) -> Intent:
        self.fallbacks += 1
        log.warning("%s backend failed (%s); falling back to the lexicon backend", self.name, why)
        intent = self.fallback.parse(text, language, context)
        intent.extras["fallback"] = why
        return intent

    def _urgent(self, text: str, language: str, context: str) -> Intent | None:
        """A stop the lexicon recognises, answered at once: a stop must reach the next control
        tick, and a slow or hung model (up to its timeout) must not stand in its way."""
        intent = self.fallback.parse(text, language, context)
        if intent.act is Act.STOP:
            intent.extras["urgent"] = "lexicon"
            return intent
        return None

    def _prompt(self, context: str) -> str:
        from assistant.safety import constitution_prompt  # the robot's rules (assistant/constitution.yaml)

        return SYSTEM_PROMPT.format(kinds=", ".join(OBJECT_KINDS), colors=", ".join(COLORS),
                                    schema=json.dumps(INTENT_SCHEMA), context=context) + SAFETY_NOTE + \
            constitution_prompt()


class OpenAIChatParser(_FallbackMixin):
    """POST {base_url}/chat/completions (OpenAI wire format), JSON answer -> Intent."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 10.0,
                 fallback: LexiconParser | None = None) -> None:
        self.base_url, self.model, self.api_key, self.timeout = base_url.rstrip("/"), model, api_key, timeout
        self.fallback = fallback or LexiconParser()

    def parse(self, text: str, language: str = "en", context: str = "idle") -> Intent:
        if (urgent := self._urgent(text, language, context)) is not None:
            return urgent
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": self._prompt(context)}, {"role": "user", "content": text}],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "intent", "schema": INTENT_SCHEMA, "strict": False}},
        }
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})})
        try:
            answer = json.loads(_within(self.timeout, _fetch, req, self.timeout).decode())
            content = answer["choices"][0]["message"]["content"]
            return intent_from_json(first_json_object(content), language)
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError, KeyError, IndexError,
                TypeError, ValueError) as e:  # HTTPException: a server that is not HTTP, or hangs up mid-answer
            return self._fallback(f"{type(e).__name__}: {e}", text, language, context)


def _fetch(req: urllib.request.Request, timeout: float) -> bytes:
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (a configured URL)
        return resp.read()


def _within(seconds: float, fn, *args):
    """`fn(*args)`, or TimeoutError after `seconds` in all. urllib's timeout bounds each socket
    operation, not the request: a server that sends a byte now and then would hold the turn (and
    the robot's control loop, which handles turns between ticks) for as long as it likes. The
    abandoned call ends on its own socket timeout."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # handed to the caller
            box["error"] = e

    worker = threading.Thread(target=run, name="llm-request", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no complete answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class TransformersParser(_FallbackMixin):
    """A local transformers chat model (a folder with config, weights and tokenizer)."""

    name = "transformers"

    def __init__(self, model_dir: str, max_new_tokens: int = 160, fallback: LexiconParser | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer  # heavy: only when chosen

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir)
        self.model.eval()
        self.max_new_tokens = max_new_tokens
        self.fallback = fallback or LexiconParser()

    def parse(self, text: str, language: str = "en", context: str = "idle") -> Intent:
        import torch

        if (urgent := self._urgent(text, language, context)) is not None:
            return urgent

        try:
            messages = [{"role": "system", "content": self._prompt(context)}, {"role": "user", "content": text}]
            if getattr(self.tokenizer, "chat_template", None):
                prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            else:
                prompt = f"{messages[0]['content']}\nUser: {text}\nJSON:"
            ids = self.tokenizer(prompt, return_tensors="pt")
            with torch.no_grad():
                out = self.model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            answer = self.tokenizer.decode(out[0][ids["input_ids"].shape[1]:], skip_special_tokens=True)
            return intent_from_json(first_json_object(answer), language)
        except Exception as e:  # any model failure: the lexicon answers instead
            return self._fallback(f"{type(e).__name__}: {str(e)[:200]}", text, language, context)


def make_understanding(kind: str = "lexicon", **kwargs: Any):
    """The understanding backend by name: lexicon (default) | openai | transformers."""
    if kind == "lexicon":
        return LexiconParser()
    if kind == "openai":
        return OpenAIChatParser(**kwargs)
    if kind == "transformers":
        return TransformersParser(**kwargs)
    raise ValueError(f"unknown understanding backend {kind!r} (lexicon, openai, transformers)")


