"""pulumi-offline test program: ``recorder:index:Thing`` resources, as many and as configured as the test says.

Config ``things`` is a list of ``{"name", "props", "secret": [keys], "depends_on": [names], "protect",
"retain_on_delete", "ignore_changes", "import_id", "delete_before_replace", "replace_on_changes"}``; each
becomes one resource of the recording plugin (tests/offline/plugins/recorder), in the order given.
"""

import pulumi

things = pulumi.Config().require_object("things")
created: dict[str, pulumi.CustomResource] = {}
for spec in things:
    props = dict(spec.get("props") or {})
    for key in spec.get("secret") or []:
        props[key] = pulumi.Output.secret(props[key])
    opts = pulumi.ResourceOptions(
        depends_on=[created[name] for name in spec.get("depends_on") or []],
        protect=bool(spec.get("protect")),
        retain_on_delete=spec.get("retain_on_delete"),
        ignore_changes=spec.get("ignore_changes"),
        import_=spec.get("import_id"),
        delete_before_replace=spec.get("delete_before_replace"),
        replace_on_changes=spec.get("replace_on_changes"),
    )
    thing = pulumi.CustomResource("recorder:index:Thing", spec["name"], {**props, "created": None}, opts=opts)
    created[spec["name"]] = thing
    pulumi.export(spec["name"], thing.id)
