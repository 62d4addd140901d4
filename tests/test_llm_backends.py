"""LLM understanding backends: a real local HTTP server speaking the OpenAI wire format, a tiny
random transformers model (plumbing), and the fallback to the lexicon backend."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from planner.intent import Act
from planner.llm import INTENT_SCHEMA, OpenAIChatParser, intent_from_json


class _Server:
    """Serves prepared chat completions, one per request, and records what it was sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers, self.requests = list(answers), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body))
                content = outer.answers.pop(0) if outer.answers else "{}"
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server():
    answers = [
        json.dumps({"act": "new_task", "goal": {"action": "put_in", "objects": {"kind": "cube", "color": "red"},
                                                 "target": {"kind": "bowl", "color": "blue"}}}),
        "Sure! Here it is:\n```json\n" + json.dumps({"act": "stop"}) + "\n```",
        "I think you want the red cube.",  # not JSON
        json.dumps({"act": "new_task", "goal": {"action": "fly"}}),  # not a valid intent
    ]
    s = _Server(answers)
    yield s
    s.close()


def test_openai_backend_against_a_local_server(server, caplog):
    p = OpenAIChatParser(server.url, "test-model")
    i = p.parse("Mets le cube rouge dans le bol bleu", "fr", "idle")
    assert i.act is Act.NEW_TASK and i.goal.describe() == "put the red cube in the blue bowl" and i.language == "fr"
    path, body = server.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "test-model"
    assert body["response_format"]["json_schema"]["schema"] == INTENT_SCHEMA
    assert body["messages"][-1]["content"] == "Mets le cube rouge dans le bol bleu"
    assert p.parse("xyzzy", "en", "running").act is Act.STOP  # JSON inside prose and a code fence
    asked = len(server.requests)
    i = p.parse("halt", "en", "running")  # a stop the lexicon knows never waits for the model
    assert i.act is Act.STOP and i.extras.get("urgent") == "lexicon" and len(server.requests) == asked
    with caplog.at_level(logging.WARNING):
        i = p.parse("put the red cube in the blue bowl", "en", "idle")  # the server answers prose
    assert i.act is Act.NEW_TASK and "fallback" in i.extras and "falling back" in caplog.text
    i = p.parse("put the red cube in the blue bowl", "en", "idle")  # an invalid action
    assert i.extras.get("fallback") and i.goal.action == "put_in"
    assert p.fallbacks == 2


def test_openai_backend_with_no_server_falls_back():
    p = OpenAIChatParser("http://127.0.0.1:9/v1", "m", timeout=0.5)  # nothing listens on port 9
    i = p.parse("put the red cube in the blue bowl", "en", "idle")
    assert i.act is Act.NEW_TASK and "fallback" in i.extras


def test_a_stop_does_not_wait_for_a_hung_model():
    import socket
    import time

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1)  # accepts, never answers
    try:
        p = OpenAIChatParser(f"http://127.0.0.1:{hung.getsockname()[1]}/v1", "m", timeout=60.0)
        for text, lang in [("stop", "en"), ("¡para!", "es"), ("停下", "zh")]:
            t0 = time.perf_counter()
            i = p.parse(text, lang, "running")  # (the first turn in a language also loads its lexicon)
            assert i.act is Act.STOP and i.extras.get("urgent") == "lexicon", (text, i)
            assert time.perf_counter() - t0 < 10.0  # nowhere near the model's 60 s
    finally:
        hung.close()


@pytest.mark.parametrize("bad", [[], {"act": "dance"}, {"act": "new_task"}, {"act": "stop", "extra": 1},
                                 {"act": "change", "slot": "elsewhere"},
                                 {"act": "new_task", "goal": {"action": "put_in", "objects": {"kind": "car"}}}])
def test_invalid_answers_are_rejected(bad):
    with pytest.raises(ValueError):
        intent_from_json(bad, "en")


def test_transformers_backend_plumbing_with_a_tiny_random_model(tmp_path):
    """A 2-layer GPT-2 with random weights and a word-level tokenizer, made here: it loads, generates,
    answers nonsense, and the lexicon backend answers instead."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = "put the red cube in blue bowl stop { } json act user".split()
    vocab = {w: i for i, w in enumerate(["[UNK]", "[EOS]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="[EOS]", pad_token="[EOS]")
    fast.save_pretrained(tmp_path)
    import torch

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(vocab), n_positions=4096, n_embd=16, n_layer=2, n_head=2)
                    ).save_pretrained(tmp_path)
    from planner.llm import TransformersParser

    p = TransformersParser(str(tmp_path), max_new_tokens=8)
    i = p.parse("put the red cube in the blue bowl", "en", "idle")
    assert i.act is Act.NEW_TASK and i.goal.describe() == "put the red cube in the blue bowl"
    assert "fallback" in i.extras and p.fallbacks == 1
