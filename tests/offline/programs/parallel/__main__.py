"""pulumi-offline test program: independent dynamic resources (parallelism, partial failure)."""

import pulumi

from offline_support import Recorder

config = pulumi.Config()
count = config.get_int("count") or 8
sleep = config.get_float("sleep") or 0.0
gate = config.get_int("gate") or 0
fail = config.get("fail")
say = config.get_object("say")  # {"stdout": ..., "stderr": ...}: what each Create writes

for i in range(count):
    label = f"r{i}"
    Recorder(label, label=label, sleep=sleep, gate=gate, fail_create=(label == fail), say=say)
