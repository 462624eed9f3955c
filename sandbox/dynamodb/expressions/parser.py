"""Recursive-descent parsers for condition, key condition, update and projection expressions.

Precedence, lowest first (DynamoDB's documentation): OR, AND, NOT, parentheses/functions,
BETWEEN, IN, comparators.

DynamoDB's limits bound the work: the text is at most 4 KB (checked before tokenizing), at most
300 operators, document paths at most 32 levels; parentheses and function calls nest at most
MAX_NESTING deep, so the recursion never nears Python's limit and parsing stays linear.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from sandbox.dynamodb.expressions.nodes import (
    Arithmetic,
    Between,
    BoolOp,
    Call,
    Compare,
    Condition,
    Function,
    In,
    Node,
    Not,
    Operand,
    Path,
    PathPart,
    Placeholders,
    Projection,
    SetAction,
    Size,
    Update,
    Value,
    ValueAction,
)
from sandbox.dynamodb.expressions.tokens import Token, tokenize
from sandbox.errors import ValidationError

COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
CONDITION_FUNCTIONS = frozenset(
    {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"}
)
UPDATE_FUNCTIONS = frozenset({"list_append", "if_not_exists"})
CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
MAX_EXPRESSION_BYTES = 4096
MAX_OPERATORS = 300
MAX_PATH_LEVELS = 32
MAX_NESTING = 160  # 300 operators allow ~150 levels of "a<b OR (...)"; 4 frames a level stays far from 1000
MAX_LIST_INDEX = 2**31 - 1


@cache
def reserved_words() -> frozenset[str]:
    text = resources.files("sandbox.dynamodb").joinpath("reserved_words.txt").read_text()
    return frozenset(text.split())


class _Parser:
    def __init__(self, text: str, label: str, *, limited: bool = True) -> None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if limited and size > MAX_EXPRESSION_BYTES:
            raise ValidationError(
                f"Invalid {label}: Expression size has exceeded the maximum allowed size; expression size: {size}"
            )
        if not text.strip():
            raise ValidationError(f"Invalid {label}: The expression can not be empty;")
        self.text = text
        self.label = label
        self.tokens = tokenize(text, label)
        self.i = 0
        self.names: set[str] = set()
        self.values: set[str] = set()
        self.operators = 0
        self.max_operators = MAX_OPERATORS if limited else len(self.tokens)
        self.nesting = 0
        self.groups: set[tuple[int, int]] = set()  # token positions of each "(" and its ")"

    # --- helpers -----------------------------------------------------------------------------

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, word: str) -> bool:
        return self.peek.kind == "word" and self.peek.text.upper() == word

    def expect(self, text: str) -> Token:
        if self.peek.text != text:
            self.fail()
        return self.take()

    def fail(self, token: Token | None = None) -> None:
        token = token or self.peek
        near = self.text[max(0, token.at - 8) : token.at + len(token.text) + 8].strip()
        raise ValidationError(f'Invalid {self.label}: Syntax error; token: "{token.text}", near: "{near}"')

    def done(self) -> None:
        if self.peek.kind != "end":
            self.fail()

    def operator(self) -> None:
        self.operators += 1
        if self.operators > self.max_operators:
            raise ValidationError(
                f"Invalid {self.label}: The expression contains too many operators; operator count: {self.operators}"
            )

    def enter(self) -> None:
        """One more level of parentheses or function call; bounded so recursion stays shallow."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ValidationError(f"Invalid {self.label}: The expression is nested too deeply")

    def leave(self) -> None:
        self.nesting -= 1

    def placeholders(self) -> Placeholders:
        return Placeholders(frozenset(self.names), frozenset(self.values))

    # --- paths and operands ------------------------------------------------------------------

    def path(self) -> Path:
        parts: list[PathPart] = [self.name()]
        while self.peek.text in (".", "["):
            if self.take().text == ".":
                parts.append(self.name())
            else:
                number = self.take()
                if number.kind != "number":
                    self.fail(number)
                index = int(number.text) if len(number.text) <= 10 else MAX_LIST_INDEX + 1
                if index > MAX_LIST_INDEX:
                    raise ValidationError(
                        f"Invalid {self.label}: List index is out of integer range; index: {number.text[:20]}"
                    )
                parts.append(index)
                self.expect("]")
            if len(parts) > MAX_PATH_LEVELS:
                raise ValidationError(
                    f"Invalid {self.label}: The document path has too many nesting levels; nesting levels: {len(parts)}"
                )
        return Path(tuple(parts))

    def name(self) -> str:
        token = self.take()
        if token.kind == "name":
            self.names.add(token.text)
            return token.text
        if token.kind != "word":
            self.fail(token)
        if token.text.upper() in reserved_words():
            raise ValidationError(
                f"Invalid {self.label}: Attribute name is a reserved keyword; reserved keyword: {token.text}"
            )
        return token.text

    def value(self) -> Value:
        token = self.take()
        if token.kind != "value":
            self.fail(token)
        self.values.add(token.text)
        return Value(token.text)

    def operand(self) -> Operand:
        token = self.peek
        if token.kind == "value":
            return self.value()
        if token.kind == "word" and self.tokens[self.i + 1].text == "(":
            name = token.text
            if name == "size":
                self.take()
                self.expect("(")
                inner: Path | Value = self.value() if self.peek.kind == "value" else self.path()
                count = 1
                while self.peek.text == ",":
                    self.take()
                    self.operand()
                    count += 1
                self.expect(")")
                if count != 1:
                    raise ValidationError(
                        f"Invalid {self.label}: Incorrect number of operands for operator or function; "
                        f"operator or function: size, number of operands: {count}"
                    )
                return Size(inner)
            if name in CONDITION_FUNCTIONS or (name in UPDATE_FUNCTIONS and self.label != "UpdateExpression"):
                raise ValidationError(
                    f"Invalid {self.label}: The function is not allowed to be used this way in an expression; "
                    f"function: {name}"
                )
            raise ValidationError(f"Invalid {self.label}: Invalid function name; function: {name}")
        return self.path()

    # --- conditions --------------------------------------------------------------------------

    def condition(self) -> Node:
        node = self.conjunction()
        while self.is_word("OR"):
            self.take()
            self.operator()
            node = BoolOp("OR", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.is_word("AND"):
            self.take()
            self.operator()
            node = BoolOp("AND", node, self.negation())
        return node

    def negation(self) -> Node:
        count = 0
        while self.is_word("NOT"):  # a loop, not recursion: "NOT NOT ... NOT a" may be long
            self.take()
            self.operator()
            count += 1
        node = self.primary()
        for _ in range(count):
            node = Not(node)
        return node

    def primary(self) -> Node:
        token = self.peek
        if token.text == "(":
            opened = self.i
            self.take()
            self.enter()
            node = self.condition()
            self.expect(")")
            self.leave()
            if (opened + 1, self.i - 2) in self.groups:
                raise ValidationError(f"Invalid {self.label}: The expression has redundant parentheses;")
            self.groups.add((opened, self.i - 1))
            return node
        if token.kind == "word" and token.text in CONDITION_FUNCTIONS and self.tokens[self.i + 1].text == "(":
            return self.function()
        left = self.operand()
        if self.peek.text in COMPARATORS:
            op = self.take().text
            self.operator()
            return Compare(left, op, self.operand())
        if self.is_word("BETWEEN"):
            self.take()
            self.operator()
            low = self.operand()
            if not self.is_word("AND"):
                self.fail()
            self.take()
            return Between(left, low, self.operand())
        if self.is_word("IN"):
            self.take()
            self.operator()
            self.expect("(")
            options = [self.operand()]
            while self.peek.text == ",":
                self.take()
                options.append(self.operand())
            self.expect(")")
            if len(options) > 100:
                raise ValidationError(f"Invalid {self.label}: The IN operator takes at most 100 operands")
            return In(left, tuple(options))
        self.fail()
        raise AssertionError  # fail() always raises

    def function(self) -> Function:
        name = self.take().text
        self.expect("(")
        args = [self.operand()]
        while self.peek.text == ",":
            self.take()
            args.append(self.operand())
        self.expect(")")
        wanted = 1 if name in ("attribute_exists", "attribute_not_exists") else 2
        if len(args) != wanted:
            raise ValidationError(
                f"Invalid {self.label}: Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}"
            )
        if not isinstance(args[0], Path) and name in ("attribute_exists", "attribute_not_exists"):
            raise ValidationError(
                f"Invalid {self.label}: Operator or function requires a document path; operator or function: {name}"
            )
        if name == "attribute_type" and not isinstance(args[1], Value):
            raise ValidationError(
                f"Invalid {self.label}: Incorrect operand type for operator or function; operator or function: "
                "attribute_type, operand type: a document path; the type must be an expression attribute value"
            )
        if name == "contains" and isinstance(args[1], Path) and args[0] == args[1]:
            raise ValidationError(
                f"Invalid {self.label}: The parameters of contains() must not be the same document path"
            )
        return Function(name, tuple(args))

    # --- updates -----------------------------------------------------------------------------

    def set_value(self) -> Operand:
        left = self.set_operand()
        if self.peek.text in ("+", "-"):
            op = self.take().text
            return Arithmetic(left, op, self.set_operand())
        return left

    def set_operand(self) -> Operand:
        token = self.peek
        if token.kind == "word" and self.tokens[self.i + 1].text == "(":
            if token.text not in UPDATE_FUNCTIONS:
                raise ValidationError(f"Invalid {self.label}: Invalid function name; function: {token.text}")
            self.take()
            self.expect("(")
            self.enter()
            args = [self.set_operand()]  # no + or - inside a function's arguments
            while self.peek.text == ",":
                self.take()
                args.append(self.set_operand())
            self.expect(")")
            self.leave()
            if token.text == "list_append" and any(isinstance(a, Call) and a.name == "list_append" for a in args):
                raise ValidationError(
                    f"Invalid {self.label}: The function is not allowed to be used this way in an expression; "
                    "function: list_append"
                )
            if len(args) != 2:
                raise ValidationError(
                    f"Invalid {self.label}: Incorrect number of operands for operator or function; "
                    f"operator or function: {token.text}, number of operands: {len(args)}"
                )
            if token.text == "if_not_exists" and not isinstance(args[0], Path):
                raise ValidationError(
                    f"Invalid {self.label}: Operator or function requires a document path; "
                    "operator or function: if_not_exists"
                )
            return Call(token.text, tuple(args))
        return self.operand()

    def update(self) -> Update:
        seen: dict[str, list[object]] = {}
        while self.peek.kind != "end":
            if self.peek.kind != "word" or self.peek.text.upper() not in CLAUSES:
                self.fail()
            clause = self.take().text.upper()
            if clause in seen:
                raise ValidationError(
                    f'Invalid {self.label}: The "{clause}" section can only be used once in an update expression;'
                )
            seen[clause] = self.actions(clause)
        return Update(
            tuple(seen.get("SET", [])),  # type: ignore[arg-type]
            tuple(seen.get("REMOVE", [])),  # type: ignore[arg-type]
            tuple(seen.get("ADD", [])),  # type: ignore[arg-type]
            tuple(seen.get("DELETE", [])),  # type: ignore[arg-type]
            self.placeholders(),
        )

    def actions(self, clause: str) -> list[object]:
        actions: list[object] = [self.action(clause)]
        while self.peek.text == ",":
            self.take()
            actions.append(self.action(clause))
        return actions

    def action(self, clause: str) -> object:
        target = self.path()
        if clause == "SET":
            self.expect("=")
            return SetAction(target, self.set_value())
        if clause == "REMOVE":
            return target
        return ValueAction(target, self.value())


def parse_condition(text: str, label: str = "ConditionExpression", *, limited: bool = True) -> Condition:
    parser = _Parser(text, label, limited=limited)
    root = parser.condition()
    parser.done()
    return Condition(root, parser.placeholders(), label)


def parse_update(text: str, *, limited: bool = True) -> Update:
    parser = _Parser(text, "UpdateExpression", limited=limited)
    update = parser.update()
    return update


def parse_projection(text: str, *, limited: bool = True) -> Projection:
    parser = _Parser(text, "ProjectionExpression", limited=limited)
    paths = [parser.path()]
    while parser.peek.text == ",":
        parser.take()
        paths.append(parser.path())
    parser.done()
    return Projection(tuple(paths), parser.placeholders())
