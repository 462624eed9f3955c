"""Recursive-descent parser for the PartiQL DynamoDB accepts: SELECT, INSERT, UPDATE, DELETE and (in a
transaction) EXISTS. `?` parameters are substituted in order as they are met; nesting is bounded so
a hostile statement cannot exhaust the stack, and every token is looked at a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sandbox.dynamodb.partiql import nodes as n
from sandbox.dynamodb.partiql.tokens import Token, malformed, tokenize, unsupported
from sandbox.errors import ValidationError

MAX_DEPTH = 50
# Words that cannot be a bare attribute name (write it "quoted" instead).
KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "MISSING", "NULL", "TRUE", "FALSE"}
    | {"SET", "REMOVE", "RETURNING", "ORDER", "BY", "ASC", "DESC", "INSERT", "INTO", "VALUE", "UPDATE", "DELETE"}
    | {"EXISTS", "LIMIT"}
)
UNSUPPORTED_CLAUSES = frozenset({"LIMIT", "OFFSET", "GROUP", "HAVING", "JOIN", "UNION", "AS", "AT", "LET"})
COMPARISONS = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
CONDITION_FUNCTIONS = {"begins_with": 2, "contains": 2, "attribute_type": 2}
RETURNING = {("ALL", "OLD"): "ALL_OLD", ("MODIFIED", "OLD"): "UPDATED_OLD", ("ALL", "NEW"): "ALL_NEW"}
RETURNING[("MODIFIED", "NEW")] = "UPDATED_NEW"
PARAMETER_COUNT = "Number of parameters in request and statement don't match."


def parse(statement: str, parameters: Sequence[n.AttributeValue]) -> n.Statement:
    parser = Parser(tokenize(statement), parameters)
    parsed = parser.statement()
    parser.expect_end()
    if parser.used != len(parameters):
        raise ValidationError(PARAMETER_COUNT)
    return parsed


class Parser:
    def __init__(self, tokens: list[Token], parameters: Sequence[n.AttributeValue]) -> None:
        self._tokens = tokens
        self._at = 0
        self._parameters = parameters
        self.used = 0
        self._depth = 0

    # --- tokens ---------------------------------------------------------------------------

    def _peek(self, ahead: int = 0) -> Token:
        return self._tokens[min(self._at + ahead, len(self._tokens) - 1)]

    def _next(self) -> Token:
        token = self._peek()
        self._at += 1
        return token

    def _is(self, text: str, ahead: int = 0) -> bool:
        """Whether the token is the keyword (any case) or punctuation `text`."""
        token = self._peek(ahead)
        if token.kind == "word":
            return token.text.upper() == text
        return token.kind == "punct" and token.text == text

    def _accept(self, text: str) -> bool:
        if self._is(text):
            self._at += 1
            return True
        return False

    def _expect(self, text: str) -> Token:
        if not self._is(text):
            raise malformed(f"expected {text}, found {self._peek().describe()}")
        return self._next()

    def _unexpected(self) -> ValidationError:
        return malformed(f"unexpected {self._peek().describe()}")

    def expect_end(self) -> None:
        token = self._peek()
        if token.kind == "end":
            return
        if token.kind == "word" and token.text.upper() in UNSUPPORTED_CLAUSES:
            raise unsupported(f"the {token.text.upper()} clause")
        raise self._unexpected()

    def _deeper(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise malformed(f"nested more than {MAX_DEPTH} levels deep")

    # --- statements -----------------------------------------------------------------------

    def statement(self) -> n.Statement:
        starts: dict[str, Callable[[], n.Statement]] = {
            "SELECT": self._select,
            "INSERT": self._insert,
            "UPDATE": self._update,
            "DELETE": self._delete,
        }
        token = self._peek()
        word = token.text.upper() if token.kind == "word" else ""
        if word == "EXISTS":
            self._next()
            self._expect("(")
            select = self._select()
            self._expect(")")
            return n.Exists(select)
        start = starts.get(word)
        if start is None:
            raise malformed(f"unexpected {token.describe()}: a statement starts with SELECT, INSERT, UPDATE or DELETE")
        return start()

    def _target(self) -> n.Target:
        table = self._name("a table name")
        index = self._name("an index name") if self._accept(".") else None
        return n.Target(table, index)

    def _name(self, what: str) -> str:
        token = self._peek()
        if token.kind == "quoted" or (token.kind == "word" and token.text.upper() not in KEYWORDS):
            self._next()
            if not token.text:
                raise malformed(f"empty name at position {token.at + 1}")
            return token.text
        raise malformed(f"expected {what}, found {token.describe()}")

    def _select(self) -> n.Select:
        self._expect("SELECT")
        projection: tuple[n.Path, ...] | None = None
        if not self._accept("*"):
            if self._peek().kind == "word" and self._peek().text.upper() in ("DISTINCT", "VALUE", "ALL"):
                raise unsupported(f"SELECT {self._peek().text.upper()}")
            projection = tuple(self._list(self._projected))
        self._expect("FROM")
        target = self._target()
        where = self._condition() if self._accept("WHERE") else None
        order: list[tuple[n.Path, bool]] = []
        if self._accept("ORDER"):
            self._expect("BY")
            order = self._list(self._ordering)
        return n.Select(target, projection, where, tuple(order))

    def _projected(self) -> n.Path:
        if self._peek().kind == "word" and self._is("(", 1):
            raise unsupported(f"the function {self._peek().text}() in a SELECT list")
        return self._path()

    def _ordering(self) -> tuple[n.Path, bool]:
        path = self._path()
        if self._accept("DESC"):
            return path, True
        self._accept("ASC")
        return path, False

    def _insert(self) -> n.Insert:
        self._expect("INSERT")
        self._expect("INTO")
        target = self._target()
        if self._is("VALUES"):
            raise malformed("INSERT takes VALUE, a single item, not VALUES")
        self._expect("VALUE")
        at = self._peek()
        item = self._value()
        if "M" not in item:
            raise malformed(f"INSERT needs a map value, {{...}}, at position {at.at + 1}")
        return n.Insert(target, item)

    def _update(self) -> n.Update:
        self._expect("UPDATE")
        target = self._target()
        sets: list[tuple[n.Path, n.SetValue]] = []
        removes: list[n.Path] = []
        adds: list[tuple[n.Path, n.Operand]] = []
        deletes: list[tuple[n.Path, n.Operand]] = []
        if not self._is("SET") and not self._is("REMOVE"):
            raise malformed(f"expected SET or REMOVE, found {self._peek().describe()}")
        while self._is("SET") or self._is("REMOVE"):
            if self._accept("REMOVE"):
                removes += self._list(self._path)
                continue
            self._next()
            for path, value in self._list(self._assignment):
                if isinstance(value, tuple):
                    (adds if value[0] == "set_add" else deletes).append((path, value[1]))
                else:
                    sets.append((path, value))
        self._expect("WHERE")
        where = self._condition()
        returning = self._returning()
        return n.Update(target, tuple(sets), tuple(removes), tuple(adds), tuple(deletes), where, returning)

    def _assignment(self) -> tuple[n.Path, n.SetValue | tuple[str, n.Operand]]:
        path = self._path()
        self._expect("=")
        token = self._peek()
        name = token.text.lower() if token.kind == "word" and self._is("(", 1) else ""
        if name in ("set_add", "set_delete", "list_append"):
            self._next()
            self._expect("(")
            first = self._operand()
            self._expect(",")
            second = self._operand()
            self._expect(")")
            if name == "list_append":
                return path, n.ListAppend(first, second)
            if first != path:
                raise unsupported(f"{name}() on a path other than the one it is assigned to")
            return path, (name, second)
        left = self._operand()
        if self._is("+") or self._is("-"):
            op = self._next().text
            return path, n.Arithmetic(op, left, self._operand())
        return path, left

    def _delete(self) -> n.Delete:
        self._expect("DELETE")
        self._expect("FROM")
        target = self._target()
        self._expect("WHERE")
        where = self._condition()
        returning = self._returning()
        if returning not in (None, "ALL_OLD"):
            raise malformed("DELETE can only return ALL OLD *")
        return n.Delete(target, where, returning)

    def _returning(self) -> str | None:
        if not self._accept("RETURNING"):
            return None
        which = self._next().text.upper()
        when = self._next().text.upper()
        returned = RETURNING.get((which, when))
        if returned is None:
            raise malformed("RETURNING takes ALL OLD *, MODIFIED OLD *, ALL NEW * or MODIFIED NEW *")
        self._expect("*")
        return returned

    def _list(self, item: Any) -> list[Any]:
        items = [item()]
        while self._accept(","):
            items.append(item())
        return items

    # --- conditions -----------------------------------------------------------------------

    def _condition(self) -> n.Condition:
        parts = [self._conjunction()]
        while self._accept("OR"):
            parts.append(self._conjunction())
        return parts[0] if len(parts) == 1 else n.Or(tuple(parts))

    def _conjunction(self) -> n.Condition:
        parts = [self._negation()]
        while self._accept("AND"):
            parts.append(self._negation())
        return parts[0] if len(parts) == 1 else n.And(tuple(parts))

    def _negation(self) -> n.Condition:
        self._deeper()
        try:
            if self._accept("NOT"):
                return n.Not(self._negation())
            if self._accept("("):
                inner = self._condition()
                self._expect(")")
                return inner
            return self._predicate()
        finally:
            self._depth -= 1

    def _predicate(self) -> n.Condition:
        token = self._peek()
        name = token.text.lower() if token.kind == "word" and self._is("(", 1) else ""
        if name in CONDITION_FUNCTIONS:
            return self._call(name)
        left = self._operand()
        negated = self._accept("NOT")
        if self._accept("BETWEEN"):
            low = self._operand()
            self._expect("AND")
            found: n.Condition = n.Between(left, low, self._operand())
        elif self._accept("IN"):
            found = n.In(left, self._options())
        elif not negated and self._accept("IS"):
            return self._is_check(left)
        elif not negated and self._peek().kind == "punct" and self._peek().text in COMPARISONS:
            return n.Compare(COMPARISONS[self._next().text], left, self._operand())
        else:
            raise malformed(f"expected a comparison, found {self._peek().describe()}")
        return n.Not(found) if negated else found

    def _call(self, name: str) -> n.Call:
        self._next()
        self._expect("(")
        args = self._list(self._operand)
        self._expect(")")
        if len(args) != CONDITION_FUNCTIONS[name]:
            raise malformed(f"{name}() takes {CONDITION_FUNCTIONS[name]} arguments, not {len(args)}")
        if not isinstance(args[0], n.Path):
            raise malformed(f"the first argument of {name}() is a path")
        return n.Call(name, tuple(args))

    def _is_check(self, left: n.Operand) -> n.Is:
        if not isinstance(left, n.Path):
            raise malformed("IS [NOT] MISSING and IS [NOT] NULL apply to a path")
        negated = self._accept("NOT")
        if self._accept("MISSING"):
            return n.Is(left, "MISSING", negated)
        self._expect("NULL")
        return n.Is(left, "NULL", negated)

    def _options(self) -> tuple[n.Operand, ...]:
        closing = "]" if self._accept("[") else ")" if self._accept("(") else ""
        if not closing:
            raise malformed(f"expected a list after IN, found {self._peek().describe()}")
        options = self._list(self._operand)
        self._expect(closing)
        return tuple(options)

    # --- operands and values --------------------------------------------------------------

    def _operand(self) -> n.Operand:
        token = self._peek()
        if token.kind == "word" and self._is("(", 1):
            if token.text.lower() != "size":
                raise unsupported(f"the function {token.text}()")
            self._next()
            self._next()
            path = self._path()
            self._expect(")")
            return n.Size(path)
        if token.kind == "quoted" or (token.kind == "word" and token.text.upper() not in KEYWORDS):
            return self._path()
        return n.Literal(self._value())

    def _path(self) -> n.Path:
        parts: list[str | int] = [self._name("an attribute name")]
        while True:
            if self._accept("."):
                token = self._next()
                if token.kind not in ("word", "quoted") or not token.text:
                    raise malformed(f"expected an attribute name after '.', found {token.describe()}")
                parts.append(token.text)
            elif self._accept("["):
                token = self._next()
                if token.kind != "number" or not token.text.isdigit():
                    raise malformed(f"expected a list index, found {token.describe()}")
                parts.append(int(token.text))
                self._expect("]")
            else:
                return n.Path(tuple(parts))

    def _value(self) -> n.AttributeValue:
        token = self._next()
        if token.kind == "string":
            return {"S": token.text}
        if token.kind == "number":
            return {"N": token.text}
        if token.kind == "punct":
            return self._punct_value(token)
        word = token.text.upper() if token.kind == "word" else ""
        if word in ("TRUE", "FALSE"):
            return {"BOOL": word == "TRUE"}
        if word == "NULL":
            return {"NULL": True}
        self._at -= 1
        raise malformed(f"expected a value, found {token.describe()}")

    def _punct_value(self, token: Token) -> n.AttributeValue:
        if token.text == "?":
            if self.used >= len(self._parameters):
                raise ValidationError(PARAMETER_COUNT)
            self.used += 1
            return self._parameters[self.used - 1]
        if token.text == "-" and self._peek().kind == "number":
            return {"N": "-" + self._next().text}
        if token.text in ("{", "[", "<<"):
            self._deeper()
            try:
                return {"{": self._map, "[": self._array, "<<": self._set}[token.text]()
            finally:
                self._depth -= 1
        self._at -= 1
        raise malformed(f"expected a value, found {token.describe()}")

    def _map(self) -> n.AttributeValue:
        entries: dict[str, n.AttributeValue] = {}
        while not self._accept("}"):
            if entries:
                self._expect(",")
            key = self._next()
            if key.kind != "string":
                raise malformed(f"expected a 'quoted' attribute name, found {key.describe()}")
            if key.text in entries:
                raise malformed(f"the attribute '{key.text}' is given twice")
            self._expect(":")
            entries[key.text] = self._value()
        return {"M": entries}

    def _array(self) -> n.AttributeValue:
        values: list[n.AttributeValue] = []
        while not self._accept("]"):
            if values:
                self._expect(",")
            values.append(self._value())
        return {"L": values}

    def _set(self) -> n.AttributeValue:
        values = self._list(self._value)
        self._expect(">>")
        kinds = {next(iter(v)) for v in values if isinstance(v, dict) and len(v) == 1}
        if len(kinds) != 1 or not kinds <= {"S", "N", "B"}:
            raise ValidationError("A set (<< ... >>) holds only strings, only numbers or only binary values")
        kind = kinds.pop()
        return {kind + "S": [v[kind] for v in values]}
