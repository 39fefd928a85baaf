"""Reading a Prometheus text exposition in tests."""

from __future__ import annotations

import re


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the series ``name`` whose labels include ``labels``, in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found = dict(re.findall(r'(\w+)="([^"]*)"', series))
            if series.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
                total += float(value)
    return total
