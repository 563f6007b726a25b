"""What a user reads when a step fails, is refused or is skipped: the engine's own words.

Why one module: these texts are what ``pulumi up`` prints (facts a user
sees, which the offline engine must show as they are), each with the
pulumi/pulumi v3.259 file and function that prints it, or they say what
pulumi-offline does not implement; tests and docs quote them, so each is
written once. A provider's own failure is shown as its gRPC status message,
unchanged (``pkg/engine/update.go`` ``OnResourceStepPost``: the error text
is the message), whatever it holds. Map: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from .state import SECRET_SIG, SECRET_SIG_KEY


#: A diagnostic's severity, named as ``sdk/go/common/diag`` ``Severity`` names it: ``INFO`` is a ``Log`` at
#: INFO or a line a dynamic provider host wrote to stdout, ``INFOERR`` one it wrote to stderr.
DEBUG, INFO, INFOERR, WARNING, ERROR = "debug", "info", "info#err", "warning", "error"


class StepError(Exception):
    """A step failed; the message is what the user sees."""

    @property
    def lines(self) -> list[str]:
        """The errors the engine shows for it, one diagnostic each."""
        return [str(self)]


class CheckFailed(StepError):
    """``Check`` refused the inputs: one error per failure, in the engine's words."""

    def __init__(self, name: str, type_: str, failures: list[tuple[str, str]], inputs: Mapping[str, Any]) -> None:
        self.messages = [check_failure(type_, name, prop, reason, inputs) for prop, reason in failures]
        super().__init__("\n".join(self.messages))
        self.failures = failures

    @property
    def lines(self) -> list[str]:
        return list(self.messages)


class Skipped(StepError):
    """Not applied because an earlier step failed or the run was cancelled."""


class UnsupportedError(Exception):
    """A resource type, invoke token or resource operation the offline engine does not implement."""


def counted(number: int, noun: str) -> str:
    """``1 table``, ``3 tables``: a count with its noun, plural (an ``s``) unless it is one."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run_result(kind: str, outcome: str) -> str:
    """``pkg/resource/deploy/deployment_executor.go`` ``reportExecResult``: ``update failed``,
    ``update canceled``, ``preview failed``... (shown under the stack)."""
    return f"{kind} {outcome}"


def urn_quote(urn: str) -> str:
    """``sdk/go/common/resource/urn/urn.go`` ``URN.Quote`` (POSIX)."""
    return f"'{urn}'"


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings these messages quote (URNs, ids)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def protected_delete_message(urn: str) -> str:
    """``pkg/resource/deploy/step.go`` ``deleteProtectedError.Error``."""
    return (f"resource {go_quote(urn)} cannot be deleted\n"
            "because it is protected. To unprotect the resource, either remove the `protect` flag from the "
            "resource in your Pulumi program and run `pulumi up`, or use the command:\n"
            f"`pulumi state unprotect {urn_quote(urn)}`")


def protected_replace_message(urn: str) -> str:
    """``pkg/resource/deploy/step_generator.go`` ``continueStepsFromDiff``."""
    return (f"unable to replace resource {go_quote(urn)}\n"
            "as it is currently marked for protection. To unprotect the resource, remove the `protect` flag "
            "from the resource in your Pulumi program and run `pulumi up`")


def import_missing(ident: str) -> str:
    """``pkg/resource/deploy/step.go`` ``ImportStep.Apply``: Read found nothing."""
    return f"resource '{ident}' does not exist"


def import_unsupported(package: str) -> str:
    """``pkg/resource/deploy/step.go`` ``ImportStep.Apply``: Read returned no inputs."""
    return f"provider does not support importing resources; please try updating the '{package}' plugin"


def import_exists(urn: str) -> str:
    """``pkg/resource/deploy/step.go`` ``ImportStep.Apply`` (``pulumi import``)."""
    return f"resource '{urn}' already exists"


def import_replace(keys: list[tuple[str, str, str]]) -> str:
    """``step_generator.go`` ``continueStepsFromDiff``: an imported resource whose program still names the id."""
    diff = "\n".join(f"{key}: {old} => {new}" for key, old, new in keys)
    return ("previously-imported resources that still specify an ID may not be replaced; "
            "please remove the `import` declaration from your program;\n" + diff)


def import_check_warning(package: str) -> str:
    """``pkg/resource/deploy/step.go`` ``ImportStep.Apply`` (planned import, no properties given)."""
    return (f"One or more imported inputs failed to validate. This is almost certainly a bug in the `{package}` "
            "provider. The import will still proceed, but you will need to edit the generated code after copying "
            "it into your program.")


def plugin_from_path(filename: str, path: str) -> str:
    """``sdk/go/common/workspace/plugins.go`` ``getPluginInfoAndPath``: taken from ``$PATH``."""
    return f"using {filename} from $PATH at {path}"


def plugin_missing(package: str, ambient: bool = True) -> str:
    """``sdk/go/common/workspace/plugins.go`` ``MissingError.Error`` (no version asked)."""
    where = " or on your $PATH" if ambient else ""
    return f"no resource plugin 'pulumi-resource-{package}' found in the workspace{where}"


def plugin_folder_missing(name: str, path: str) -> str:
    """``sdk/go/common/resource/plugin/host.go`` ``parsePluginOpts`` / ``resolvePluginPath``."""
    return f"parsing plugin options for '{name}': no folder at path '{path}'"


def plugin_folder_not_dir(name: str, path: str) -> str:
    """``sdk/go/common/resource/plugin/host.go`` ``resolvePluginPath``."""
    return f"parsing plugin options for '{name}': provider folder '{path}' is not a directory"


def plugin_exited_prematurely(binary: str, output: str) -> str:
    """``sdk/go/common/resource/plugin/plugin.go`` ``Plugin.Close``: a plugin closed without acknowledging a
    ``Cancel``; ``output`` is all it wrote (stdout after the port line, and stderr), appended right after
    the last line's colon as the engine appends it."""
    return (f"Detected that {binary} exited prematurely. \n"
            "       This is *always* a bug in the provider. Please report the issue to the provider author as "
            "appropriate.\n"
            "       To assist with debugging we have dumped the STDOUT and STDERR streams of the plugin:"
            f"{output}\n")


PENDING_RESOLUTION = (
    "These resources are in an unknown state because the Pulumi CLI was interrupted while waiting for changes to "
    "these resources to complete. You should confirm whether or not the operations listed completed successfully by "
    "checking the state of the appropriate provider. For example, if you are using AWS, you can confirm using the "
    "AWS Console.\n\nOnce you have confirmed the status of the interrupted operations, you can repair your stack "
    "using `pulumi refresh` which will refresh the state from the provider you are using and clear the pending "
    "operations if there are any.\n\nNote that `pulumi refresh` will need to be run interactively to clear pending "
    "CREATE operations.")


def pending_operations(operations: list[tuple[str, str]]) -> str:
    """``deployment_executor.go`` ``printPendingOperationsWarning``: ``(urn, "creating")`` pairs."""
    listed = "".join(f"  * {urn}, interrupted while {kind}\n" for urn, kind in operations)
    return ("Attempting to deploy or update resources with "
            f"{len(operations)} pending operations from previous deployment.\n" + listed + PENDING_RESOLUTION)



def cannot_ignore(paths: list[str]) -> str:
    """``step_generator.go`` ``processIgnoreChanges``: paths through added or removed elements (info)."""
    return f"cannot ignore changes in added or removed elements of the path: {go_quote(', '.join(paths))}"


# --------------------------------------------------------------------------- Check failures
def _go_float(number: float) -> str:
    """Go's ``%v`` of a float64 (``strconv.FormatFloat(f, 'g', -1, 64)``)."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if str(number).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(float(number))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # position of the decimal point in the digit string
    exp = point - 1
    prefix = "-" if sign else ""
    eprec = 6  # Go decides %e vs %f with precision 6 when printing the shortest form
    if exp < -4 or exp >= eprec:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_value(value: Any) -> str:
    """A property value as the engine prints it in a Check failure (``PropertyValue.String``)."""
    return "{" + _go_inner(value) + "}"


def _go_inner(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG and "value" in value:
            return "&{" + go_value(value["value"]) + "}"
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return str(value)


def check_failure(type_: str, name: str, prop: str, reason: str, inputs: Mapping[str, Any]) -> str:
    """``step_generator.go`` ``issueCheckFailures`` with ``sdk/go/common/diag/errors.go``
    ``GetResourcePropertyInvalidValueError`` / ``GetResourceInvalidError``."""
    if prop:
        return f"{type_} resource '{name}': property {prop} value {go_value(inputs.get(prop))} has a problem: {reason}"
    return f"{type_} resource '{name}' has a problem: {reason}"
