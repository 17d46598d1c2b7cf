"""The cost limits of a CRD's rules when it is written (upstream's apiextensions validation:
`StaticEstimatedCostLimit` per expression, `StaticEstimatedCRDCostLimit` per schema, and
cel_validation.go's cardinality and `TotalCost`).

A rule's cost is its estimated cost (`cost.estimate`) times the most times it can run in one
object: the product of `maxItems`/`maxProperties` of the lists and maps above it, or, when one
of them has none, how many of its smallest value fit in a 3 MiB request. A messageExpression
counts once. Past 10,000,000 a rule is refused; past 100,000,000 for the whole schema the four
most expensive rules (of at least 1 % of that) and the schema are, with upstream's texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.apiextensions.cel.decltypes import MAX_REQUEST_BYTES
from nodelab.controlplane.apiextensions.cel.library_cost import MAX

EXPRESSION_LIMIT = 10_000_000
CRD_LIMIT = 100_000_000
HINT = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where "
        "arrays, maps, and strings are declared)")
CONTRIBUTED = ("contributed to estimated rule cost total exceeding cost limit for entire "
               "OpenAPIv3 schema")


def exceeds(what: str, cost: int, limit: int) -> str:
    """`getCostErrorMessage`."""
    ratio = cost / limit
    if ratio > 100.0:
        times = "more than 100x"
    elif ratio < 1.5:
        times = f"{ratio:f}x"
    else:
        times = f"{ratio:.1f}x"
    return f"{what} exceeds budget by factor of {times} {HINT}"


def child_cardinality(parent: int | None, schema: dict[str, Any]) -> int | None:
    """How many times a child of `schema` can occur (None: unbounded), as upstream's
    `childContext` with `extractMaxElements`."""
    if parent is None:
        return None
    kind = schema.get("type")
    if kind == "object" and "additionalProperties" in schema:
        most = schema.get("maxProperties")
    elif kind == "array":
        most = schema.get("maxItems")
    else:
        return parent
    if not isinstance(most, int) or isinstance(most, bool):
        return None
    return min(parent * max(most, 0), MAX)


def rule_cost(max_cost: int, cardinality: int | None, min_size: int) -> int:
    """`getExpressionCost`: bounded by the schema above, else by the request size."""
    times = cardinality if cardinality is not None else MAX_REQUEST_BYTES // (min_size + 1)
    return min(max_cost * times, MAX)


@dataclass
class TotalCost:
    """The schema's rules' total (`TotalCost`): the sum and the four most expensive."""

    total: int = 0
    most_expensive: list[tuple[int, str]] = field(default_factory=list)

    def observe(self, path: str, cost: int) -> None:
        self.total = min(self.total + cost, MAX)
        if cost < CRD_LIMIT // 100:
            return
        self.most_expensive.append((cost, path))
        self.most_expensive.sort(key=lambda item: -item[0])
        del self.most_expensive[4:]
