"""A request header an operation reads, as the OpenAPI document describes it.

Its own module so that `identity` can declare the headers it reads without importing the
request pipeline (which imports `identity` to guard signed-in operations).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    schema: dict
