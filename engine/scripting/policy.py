"""The compile-time half of the sandbox: a RestrictedPython policy for diagram scripts.

On top of RestrictedPython's own checks (no names or attributes starting with "_",
attribute and item access through guards, and so on) the policy

* refuses imports, class definitions, ``with`` statements and bare ``except:``
  (rewritten to ``except Exception:`` so a limit can never be swallowed);
* calls ``_loop_tick_()`` at the top of every ``while`` body, every function and
  every lambda (``for`` loops and comprehensions tick in ``_getiter_``), which is
  how the time limit and the iteration cap are enforced;
* turns ``**``, ``*``, ``<<``, ``+`` and ``%`` into calls of guards that check the
  size of the result before computing it, f-string fields into ``_format_`` calls
  and ``*iterable`` unpacking into ``_star_`` calls;
* allows ``data[key] += value``, which RestrictedPython refuses, by rewriting it into
  guarded reads and writes.
"""
from __future__ import annotations

import ast

from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

#: try statements with a finally clause nested in one another, at most: CPython compiles each
#: finally body twice, so every level doubles the code of those within it (a 1 KB script of
#: twenty levels takes seconds and gigabytes to compile).
MAX_FINALLY_NESTING = 4

#: The name a bare ``except:`` catches: reserved (a ``_`` name no task data can shadow).
EXCEPT_ALL = "_except_all_"

BINOP_GUARDS = {
    ast.Pow: "_pow_",
    ast.Mult: "_mul_",
    ast.LShift: "_lshift_",
    ast.Add: "_add_",
    ast.Mod: "_mod_",
}


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(func), args=list(args), keywords=[])


class ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython policy with time, size and syntax limits for diagram scripts."""

    # Constructs a process designer does not need and that widen the attack surface.

    def visit_Import(self, node: ast.Import):
        self.error(node, "import statements are not allowed in scripts (no modules are available)")

    def visit_ImportFrom(self, node: ast.ImportFrom):
        self.error(node, "import statements are not allowed in scripts (no modules are available)")

    def visit_ClassDef(self, node: ast.ClassDef):
        self.error(node, "class definitions are not allowed in scripts")

    def visit_With(self, node: ast.With):
        self.error(node, "with statements are not allowed in scripts")

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        node = super().visit_ExceptHandler(node)
        if node.type is None:
            node.type = _name(EXCEPT_ALL)
            copy_locations(node.type, node)
        return node

    def visit_Try(self, node: ast.Try):
        depth = getattr(self, "_finally_depth", 0)
        if not node.finalbody:
            return super().visit_Try(node)
        if depth >= MAX_FINALLY_NESTING:
            self.error(node, f"try statements with finally may be nested at most {MAX_FINALLY_NESTING} deep")
            return node
        self._finally_depth = depth + 1
        try:
            return super().visit_Try(node)
        finally:
            self._finally_depth = depth

    def visit_AnnAssign(self, node: ast.AnnAssign):
        # `x: int = 1` is just `x = 1` here; the annotation is dropped, never evaluated.
        if node.value is None:
            new_node = ast.Pass()
        else:
            new_node = ast.Assign(targets=[node.target], value=node.value)
        copy_locations(new_node, node)
        return self.visit(new_node)

    # Ticks: every unit of repeated work passes through _loop_tick_().

    def _tick_statement(self, node: ast.AST) -> ast.Expr:
        stmt = ast.Expr(_call("_loop_tick_"))
        copy_locations(stmt, node)
        return stmt

    def visit_While(self, node: ast.While):
        node = super().visit_While(node)
        node.body.insert(0, self._tick_statement(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef):
        node = super().visit_FunctionDef(node)
        if isinstance(node, ast.FunctionDef):
            node.body.insert(0, self._tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda):
        node = super().visit_Lambda(node)
        # `_loop_tick_() or body`: the tick returns None, so the lambda's value is unchanged.
        body = ast.BoolOp(op=ast.Or(), values=[_call("_loop_tick_"), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node

    # Size guards.

    def visit_BinOp(self, node: ast.BinOp):
        node = super().visit_BinOp(node)
        guard = BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        new_node = _call(guard, node.left, node.right)
        copy_locations(new_node, node)
        return new_node

    def visit_Starred(self, node: ast.Starred):
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_star_", node.value)
            copy_locations(node.value, node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue):
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        new_value = _call("_format_", node.value, ast.Constant(node.conversion), spec)
        copy_locations(new_value, node)
        new_node = ast.FormattedValue(value=new_value, conversion=-1, format_spec=None)
        copy_locations(new_node, node)
        return new_node

    def visit_AugAssign(self, node: ast.AugAssign):
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        target = node.target
        if isinstance(target.slice, ast.Slice):
            self.error(node, "augmented assignment to a slice is not allowed")
            return node
        container = self.visit(target.value)
        key = self.visit(target.slice)
        value = self.visit(node.value)
        tmp_container, tmp_key = self.gen_tmp_name(), self.gen_tmp_name()
        # try:
        #     _tmpA = container; _tmpB = key
        #     _write_(_tmpA)[_tmpB] = _inplacevar_(op, _getitem_(_tmpA, _tmpB), value)
        # finally:
        #     _tmpA = _tmpB = None; del _tmpA, _tmpB     (temporaries must not stay in task data)
        new_value = _call(
            "_inplacevar_",
            ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
            _call("_getitem_", _name(tmp_container), _name(tmp_key)),
            value,
        )
        store = ast.Subscript(
            value=_call("_write_", _name(tmp_container)), slice=_name(tmp_key), ctx=ast.Store())
        body = [
            ast.Assign(targets=[ast.Name(tmp_container, ast.Store())], value=container),
            ast.Assign(targets=[ast.Name(tmp_key, ast.Store())], value=key),
            ast.Assign(targets=[store], value=new_value),
        ]
        cleanup = [
            ast.Assign(targets=[ast.Name(tmp_container, ast.Store()), ast.Name(tmp_key, ast.Store())],
                       value=ast.Constant(None)),
            ast.Delete(targets=[ast.Name(tmp_container, ast.Del()), ast.Name(tmp_key, ast.Del())]),
        ]
        new_node = ast.Try(body=body, handlers=[], orelse=[], finalbody=cleanup)
        for stmt in [new_node, *body, *cleanup]:
            ast.copy_location(stmt, node)
        ast.fix_missing_locations(new_node)
        return new_node
