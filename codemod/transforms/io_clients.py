"""Calls of LLM/API client libraries in ``@do`` functions -> declared effects naming the client.

Calls through a client built at module level (``client = OpenAI()`` ... ``client.chat.completions.create(...)``)
become ``yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={...})``, whose generated handler makes
the same call on the client the effect names, so two clients of one library stay apart. Client-looking calls
through objects the codemod cannot trace are flagged (DM317).
"""

from __future__ import annotations

import json

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..handler_stubs import record_need, spec_for_client
from ..rules.phases import IO_CALL_NOT_MOVABLE, UNRESOLVED_CLIENT_CALL
from .effectful_code import yielded
from .io_movable import as_dict, keyword_arg

# Attribute names that make a call through an unknown object look like an API client's (DM317).
CLIENT_WORDS = {"chat", "completions", "messages", "embeddings", "responses", "generate_content"}

def camel(parts) -> str:
    """``("openai", "chat", "generate_content")`` -> ``OpenaiChatGenerateContent``."""
    return "".join(w[:1].upper() + w[1:] for part in parts for w in part.split("_") if w)


def is_constructor(qualified: str) -> bool:
    return qualified.rpartition(".")[2][:1].isupper()


class ClientCalls:
    """The client-call half of the io body rewriter (mixed into it; it owns the state used here)."""

    def client_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``client.chat.completions.create(...)`` through a module-level ``client = openai.OpenAI(...)``
        -> ``yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={...})``, whose generated handler
        makes the same call on that client (named, so that two clients of one library stay apart)."""
        chain: list[str] = []
        node: cst.BaseExpression = original.func
        while isinstance(node, cst.Attribute):
            chain.insert(0, node.attr.value)
            node = node.value
        if not chain:
            return updated
        if isinstance(node, cst.Name) and node.value not in self.shadowed and node.value in self.owner.clients:
            constructor = self.owner.clients[node.value]
            library = constructor.split(".")[0]
            effect = camel([library, *chain])
            if any(a.star for a in updated.args) or self.nested:
                self.note(IO_CALL_NOT_MOVABLE.code, f"`{node.value}.{'.'.join(chain)}(...)` left as it is: "
                                   + ("inside a comprehension or lambda, where `yield` cannot go" if self.nested
                                      else "`*args`/`**kwargs` cannot be moved into the effect's fields"))
                return updated
            positional = [a for a in updated.args if a.keyword is None]
            keywords = [a for a in updated.args if a.keyword is not None]
            args = [keyword_arg("client", cst.SimpleString(json.dumps(f"{self.state.module}.{node.value}")))]
            if positional:
                args.append(keyword_arg("args", cst.Tuple([cst.Element(a.value) for a in positional]) if len(positional) > 1
                                     else cst.Tuple([cst.Element(positional[0].value, comma=cst.Comma())])))
            if keywords:
                args.append(keyword_arg("kwargs", as_dict(keywords)))
            module = record_need(self.state, spec_for_client(effect, constructor, tuple(chain)))
            AddImportsVisitor.add_needed_import(self.state.context, module, effect)
            self.owner.introduced = True
            return yielded(cst.Call(cst.Name(effect), args))
        if self.owner.imports_client_library and CLIENT_WORDS & set(chain):
            shown = ".".join([pn.dotted_cst(node) or "<expression>", *chain])
            self.note(UNRESOLVED_CLIENT_CALL.code, f"`{shown}(...)` left as it is: `{shown.split('.')[0]}` is not a client built at module level from an imported library")
        return updated
