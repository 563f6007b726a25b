"""The smallest possible dynamic provider: the baseline for size and check/diff cost.

It lives in an importable module, so the SDK pickles it by reference exactly as
it pickles the product's providers; whatever the product costs beyond this is
its own.
"""

from __future__ import annotations

from pulumi.dynamic import CheckResult, DiffResult, ResourceProvider


class TrivialProvider(ResourceProvider):
    def check(self, _olds, news):
        return CheckResult(news, [])

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds != news)
