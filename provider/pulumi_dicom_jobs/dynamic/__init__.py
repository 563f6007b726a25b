"""The dynamic-provider face: resources a Python program gets with nothing but ``pip install``.

The SDK pickles the provider classes of :mod:`.providers` by reference into
every resource's state, so their module path is a persisted contract
(``tests/dynamic/test_dynamic_providers.py`` pins it).
"""
