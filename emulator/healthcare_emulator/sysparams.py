"""Google's system parameters: the query parameters every method takes.

Why: Google's clients add them on their own (google-api-python-client sends
``alt=json`` on every call) and users add ``fields``, ``prettyPrint``,
``quotaUser``, ``key``, ... ; the real service accepts them on every method,
DICOMweb included, and refuses a value it cannot honour before it looks at
the credential. The names and the allowed values of ``alt`` and ``$.xgafv``
come from the discovery document's top-level ``parameters``, which is where
the clients learn them too.

What the emulator does with each:

* ``alt``: ``json`` (the default) answers as always; ``media`` is accepted on
  the DICOMweb methods, whose answers are byte streams, and refused with 400
  on the JSON methods; ``proto`` (binary protobuf) is not emulated: 501
  UNIMPLEMENTED; any other value: 400 INVALID_ARGUMENT.
* ``fields``: partial response on every JSON answer
  (:mod:`healthcare_emulator.partial`); accepted and not applied on the
  DICOMweb methods (their answer is an ``HttpBody``, returned whole); empty
  means "every field".
* ``$.xgafv``: ``1`` or ``2`` (else 400); the error body has the same shape
  for both.
* ``prettyPrint``: ``true`` or ``false`` (else 400); answers are compact JSON
  either way.
* ``access_token`` / ``oauth_token``: an OAuth token in the query; it counts
  as the credential, like an ``Authorization: Bearer`` header.
* ``key``, ``quotaUser``, ``callback``, ``upload_protocol``, ``uploadType``:
  accepted and ignored (``callback`` does not wrap the answer in JSONP; ``key``
  alone is no credential, as the Healthcare API takes OAuth tokens only).

Every other query parameter is the method's own and reaches its handler
unchanged (QIDO-RS, for one, refuses attributes it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import discovery, partial
from .errors import ApiError, invalid


@dataclass(frozen=True)
class SystemParameters:
    """The system parameters of one request, checked."""

    alt: str = "json"
    fields: Optional[partial.Selection] = None
    access_token: Optional[str] = None


def split(query: dict[str, str]) -> tuple[SystemParameters, dict[str, str]]:
    """The request's system parameters (checked) and the method's own query parameters.

    Raises :class:`ApiError` 400 for a value the service refuses (``alt``,
    ``$.xgafv`` outside their enums, a ``prettyPrint`` that is not a boolean,
    a ``fields`` selection that does not parse).
    """
    declared = discovery.system_parameters("v1")  # v1beta1 declares the same
    system = {k: v for k, v in query.items() if k in declared}
    own = {k: v for k, v in query.items() if k not in declared}
    for name in ("alt", "$.xgafv"):
        allowed = declared[name]["enum"]
        if name in system and system[name] not in allowed:
            raise invalid(f"Invalid value for system parameter {name!r}: {system[name]!r} "
                          f"(allowed: {', '.join(allowed)})")
    if "prettyPrint" in system and system["prettyPrint"].lower() not in ("true", "false"):
        raise invalid(f"Invalid value for system parameter 'prettyPrint': {system['prettyPrint']!r} "
                      "(allowed: true, false)")
    fields = system.get("fields", "").strip()
    token = system.get("access_token") or system.get("oauth_token") or None
    return SystemParameters(alt=system.get("alt") or "json",
                            fields=partial.parse(fields) if fields else None,
                            access_token=token), own


def check_alt(alt: str, byte_stream: bool) -> None:
    """Refuse an ``alt`` this method cannot answer in (see the module docstring)."""
    if alt == "media" and not byte_stream:
        raise invalid("alt=media is only for methods whose answer is a byte stream "
                      "(DICOMweb); this method answers JSON")
    if alt == "proto":
        raise ApiError(501, "alt=proto (binary protobuf answers) is not emulated; "
                            "use alt=json")
