"""``Outputs:`` as the Pulumi CLI prints them: nested maps and lists one key per line, nothing cut."""

from __future__ import annotations

import io

from pulumi_offline.display import Display
from pulumi_offline.outputs import output_lines


def test_nested_outputs_print_one_key_per_line_padded_and_sorted() -> None:
    outputs = {
        "imports": {"archive": {"success_count": 9.0, "failure_count": 1, "operation_name": "op/1",
                                "logs_url": None, "__internal": "x"}},
        "store": "projects/p/locations/l/datasets/d/dicomStores/s",
        "buckets": ["a", {"b": True}],
        "empty": {},
        "nothing": None,
        "blank": "",
        "ratio": 0.5,
    }
    assert output_lines(outputs) == [
        '    buckets: [',
        '        [0]: "a"',
        '        [1]: {',
        '            b: true',
        '        }',
        '    ]',
        '    imports: {',
        '        archive: {',
        '            failure_count : 1',
        '            logs_url      : <null>',
        '            operation_name: "op/1"',
        '            success_count : 9',
        '        }',
        '    }',
        '    ratio  : 0.5',
        '    store  : "projects/p/locations/l/datasets/d/dicomStores/s"',
    ]


def test_long_values_are_not_cut() -> None:
    """``pulumi up`` shows stack outputs in full (``--show-full-output`` defaults to true)."""
    long = "x" * 400
    assert output_lines({"long": long}) == [f'    long: "{long}"']


def test_the_summary_prints_outputs_that_way() -> None:
    out = io.StringIO()
    Display(out, interactive=False).summary({"create": 1}, preview=False, seconds=1.0,
                                            outputs={"job": {"count": 3.0}})
    assert "Outputs:\n    job: {\n        count: 3\n    }\n" in out.getvalue()
