"""What the tests (and the benchmarks) share: one module per idea, named by what it drives.

* :mod:`support.emulator` -- the Healthcare emulator over HTTP: ``HealthcareApi``
  (its public REST API, one version, a bearer token) and ``EmulatorAdmin``
  (its ``/_emulator/`` admin surface). Nothing imports the emulator's internals.
* :mod:`support.data` -- test data and where it lives: synthetic DICOM,
  Cloud Storage and BigQuery over their REST APIs (``GcsRest``,
  ``BigQueryRest``) and through Google's client libraries (``storage_client``,
  ``new_bucket``, ``upload``...). DICOM bytes come from
  :mod:`healthcare_emulator.sampledata`.
* :mod:`support.workspace` -- ``Workspace``: a test's own dataset, DICOM store
  and bucket (the CLI tests' ``setup`` and the product's other tests' ``env``).
* :mod:`support.cloud` -- ``Cloud``: one client per emulator of a local stack,
  for tests that set up and inspect several (program and reliability tests).
* :mod:`support.cli` -- run the ``dicom-jobs`` CLI (or another command, such
  as ``pulumi-offline``) in a subprocess, through pipes or a pseudo-terminal.
* :mod:`support.cli_inprocess` -- run it in process (click's runner) against a
  ``ScriptedApi`` on the fake clock (``fast_clock``; ``ctrl_c_at_the_first_pause``).
* :mod:`support.terminal` -- what a terminal shows after an interactive
  display redrew its lines in place (the screen, not the byte stream).
* :mod:`support.programs` -- run Pulumi programs with the offline engine
  (copies, stack config, saved state, steps, grants).
* :mod:`support.graph` -- record the resource graph a program registers under
  mocks, through the offline engine's program runner.
* :mod:`support.scripted` -- ``ScriptedApi``: a loopback HTTP server with
  scripted answers, for what the emulator cannot be made to answer (the
  product still talks real HTTP to it; docs/development.md lists the users),
  and ``scripted_client``, the product's client of it.
* :mod:`support.operations` -- the one builder of operations as the API
  answers them (``operation``) and as the product reads them (``snapshot``).
* :mod:`support.clock` -- ``FakeClock``, the one fake clock, and
  ``install_in_job_layer``, which makes it the job layer's clock.
* :mod:`support.jobcontext` -- a fake ``JobContext`` for running the
  emulator's jobs without its HTTP layer.
* :mod:`support.procfs` -- what ``/proc`` says about a process tree
  (listening sockets, memory, threads).
* :mod:`support.plugin` -- the ``dicom-jobs`` plugin as a process
  (``PluginProcess``) and a ``RecordingEngine`` for its ``Log`` calls.
* :mod:`support.language_host` -- Pulumi's Python language host's steps for
  a source plugin (install, then run), transcribed from pulumi/pulumi.
* :mod:`support.sources` -- the product's sources copied to a scratch
  folder, for installs that must not write into the worktree.

Waiting is never written here: every "until true, with a deadline" is
:func:`healthcare_emulator.waiting.poll`.

Fixtures live in the ``conftest.py`` of the folder that uses them
(``tests/conftest.py`` for the session's stack, the ``emulator`` admin
client and ``env``; ``tests/jobs/conftest.py`` for the job layer's ``clock``). Tests import this package as ``support`` (``tests/`` is on
``sys.path`` under pytest); the benchmarks, run from the repository root,
as ``tests.support``. Modules inside it import each other relatively so
both work.
"""
