"""pulumi-gcp's auto-naming: a resource given no ``name`` gets its own name, a dash and 7 random hex digits.

pulumi-gcp ``provider/resources.go`` (``prov.SetAutonaming(255, "-")``; the
bucket's ``tfbridge.AutoName("name", 222, "-")``) with pulumi-terraform-bridge
``ComputeAutoNameDefault``: the name is made in ``Check``, kept on later runs
(the saved one is reused), made anew by a replace.
"""

from __future__ import annotations

import io
import re

import requests

from pulumi_offline.display import Display
from pulumi_offline.engine import run
from pulumi_offline.gcp.applier import autoname
from support.programs import make_program, write_config

BEARER = {"Authorization": "Bearer test"}


def _up(program):
    out = io.StringIO()
    result = run("up", program, display=Display(out))
    assert result.ok, out.getvalue()
    return result


def test_unnamed_gcp_resources_are_named_as_pulumi_gcp_names_them(tmp_path, emulator, stack):
    program = make_program(tmp_path, "autonamed", {"gcp:project": "local-project"})
    first = _up(program)
    outputs = first.outputs
    assert re.fullmatch(r"imaging-[0-9a-f]{7}", outputs["dataset"]), outputs
    assert re.fullmatch(r"scans-[0-9a-f]{7}", outputs["bucket"]) and re.fullmatch(r"note-[0-9a-f]{7}", outputs["object"])
    assert re.fullmatch(rf"projects/local-project/locations/us-central1/datasets/{outputs['dataset']}"
                        r"/dicomStores/main-[0-9a-f]{7}", outputs["store"]), outputs
    assert requests.get(f"{stack.healthcare_url}/v1/{outputs['store']}", headers=BEARER, timeout=10).status_code == 200
    assert requests.get(f"{stack.storage_url}/storage/v1/b/{outputs['bucket']}", timeout=10).status_code == 200

    again = _up(program)  # the saved names are kept
    assert again.counts == {"same": 4} and again.outputs == outputs

    write_config(program, {"gcp:project": "local-project", "location": "europe-west4"})
    moved = _up(program)  # a replace checks without the old inputs: a new name
    assert moved.counts.get("replace") == 2, moved.counts  # the dataset, and its store with it
    assert re.fullmatch(r"imaging-[0-9a-f]{7}", moved.outputs["dataset"]) and moved.outputs["dataset"] != outputs["dataset"]


def test_autoname_cuts_the_name_to_the_longest_allowed_and_keeps_its_case():
    assert re.fullmatch(r"Scans-[0-9a-f]{7}", autoname("Scans"))
    assert len(autoname("x" * 300, 222)) == 222 and autoname("x" * 300, 222).startswith("x" * 215)
