"""Every public name of ``mondoo`` and ``mondoo._native`` is documented twice over: at run
time (``help()``, ``__doc__``) and in the hand-written stubs, whose docstrings are what
IDEs show on hover (they read the .pyi, not the extension module)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import mondoo
import mondoo.aio
from mondoo import _native

STUB = Path(_native.__file__).with_name("_native.pyi") if _native.__file__ else None

# Dunder methods a user calls or that a stub documents for hover; others (__repr__, ...) are
# Python's protocol and need no words.
DOCUMENTED_DUNDERS = {"__new__", "__init__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


def public(name: str) -> bool:
    return not name.startswith("_") or name in DOCUMENTED_DUNDERS


def test_every_public_name_has_a_docstring_at_run_time() -> None:
    missing = []
    for module in (mondoo, mondoo.aio, _native):
        names = [n for n in module.__all__ if not n.startswith("_")]
        assert names, f"{module.__name__} exports nothing: the check is broken"
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or callable(obj)):
                continue  # a constant: its docstring is the stub's (checked below)
            if not (obj.__doc__ or "").strip():
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    if not (getattr(value, "__doc__", None) or "").strip():
                        missing.append(f"{module.__name__}.{name}.{member}")
    assert missing == [], f"no docstring: {missing}"


def stub_docstrings_missing(tree: ast.Module) -> list[str]:
    """The public classes, functions, methods, properties and module variables of a stub
    that carry no docstring (for a variable: a string literal right after it)."""
    missing = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for i, node in enumerate(body):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                if not public(node.name):
                    continue
                if not (ast.get_docstring(node) or "").strip():
                    missing.append(prefix + node.name)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if not public(node.target.id):
                    continue
                following = body[i + 1] if i + 1 < len(body) else None
                documented = (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                )
                if not documented:
                    missing.append(prefix + node.target.id)

    visit(tree.body, "")
    return missing


def test_every_public_name_of_the_stubs_has_a_docstring() -> None:
    assert STUB is not None and STUB.is_file(), f"the installed package has no stub next to {_native.__file__}"
    tree = ast.parse(STUB.read_text())
    assert ast.get_docstring(tree), "the stub module has a docstring"
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert {"Client", "Config", "Status", "inspect_token"} <= stubbed, "the parse found the stub's names"
    assert stub_docstrings_missing(tree) == []


def test_the_stub_check_finds_an_undocumented_name() -> None:
    # The check above passes only because the stub is documented, not because it sees nothing.
    tree = ast.parse(
        'X: int\nclass C:\n    """Doc."""\n    def m(self) -> None: ...\n'
        '    @property\n    def p(self) -> int:\n        """Doc."""\n'
        "def f() -> None: ...\ndef _private() -> None: ...\n"
    )
    assert stub_docstrings_missing(tree) == ["X", "C.m", "f"]


def test_the_errors_module_documents_every_exception() -> None:
    import mondoo.errors as errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MondooError)
        assert (cls.__doc__ or "").strip(), name
