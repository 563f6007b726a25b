"""The DICOMweb read side of a DICOM store: QIDO-RS search and WADO-RS retrieve.

Why: after an import the product (and its tests) must be able to see what
landed in the store the way a user would, by UID, without reaching into the
emulator's memory. Search answers ``application/dicom+json`` with the
standard attribute tags (``0020000D`` …) in DICOM JSON form, produced by
pydicom's ``Dataset.to_json_dict()`` on the header (pixels never parsed);
retrieve answers ``multipart/related; type="application/dicom"`` with the
instances' bytes exactly as imported.
"""

from __future__ import annotations

import io
import json
import secrets
from functools import lru_cache
from typing import Callable, Iterable, Optional

import pydicom
from pydicom.datadict import tag_for_keyword

from .errors import invalid, not_found
from .jobcontext import StoredInstance

DICOM_JSON = "application/dicom+json"

STUDY_TAGS = ("00080020", "00080030", "00080050", "00080090", "00100010", "00100020",
              "00100030", "00100040", "0020000D", "00200010")
SERIES_TAGS = ("00080060", "0008103E", "0020000D", "0020000E", "00200011")
INSTANCE_TAGS = ("00080016", "00080018", "0020000D", "0020000E", "00200013", "00280008",
                 "00280010", "00280011")
_LEVEL_TAGS = {"study": STUDY_TAGS, "series": STUDY_TAGS + SERIES_TAGS,
               "instance": STUDY_TAGS + SERIES_TAGS + INSTANCE_TAGS}
_PAGING = {"limit", "offset", "includefield", "fuzzymatching"}


@lru_cache(maxsize=4096)
def header_json(data: bytes) -> dict:
    """The DICOM JSON model of an instance's header (no pixel data); cached per byte string."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        return ds.to_json_dict(suppress_invalid_tags=True)
    except Exception:  # a stored instance we cannot describe still has its UIDs
        return {}


def _attributes(instance: StoredInstance, tags: Iterable[str]) -> dict:
    header = header_json(instance.data)
    out = {tag: header[tag] for tag in tags if tag in header}
    out["0020000D"] = {"vr": "UI", "Value": [instance.study_uid]}
    if "0020000E" in tags:
        out["0020000E"] = {"vr": "UI", "Value": [instance.series_uid]}
    if "00080018" in tags:
        out["00080018"] = {"vr": "UI", "Value": [instance.sop_uid]}
    return out


def _first_value(attributes: dict, tag: str) -> Optional[str]:
    values = attributes.get(tag, {}).get("Value") or []
    if not values:
        return None
    value = values[0]
    if isinstance(value, dict):  # person name
        return value.get("Alphabetic")
    return str(value)


def _matcher(query: dict[str, str], level: str) -> Callable[[dict], bool]:
    """Exact (or ``*``-suffix wildcard) matching on level attributes named by keyword or tag."""
    wanted: list[tuple[str, list[str]]] = []
    allowed = _LEVEL_TAGS[level]
    for key, value in query.items():
        if key in _PAGING:
            continue
        tag = key.upper() if len(key) == 8 and all(c in "0123456789abcdefABCDEF" for c in key) else None
        if tag is None:
            number = tag_for_keyword(key)
            tag = f"{number:08X}" if number is not None else None
        if tag is None or tag not in allowed:
            raise invalid(f"QIDO-RS: {key!r} is not a supported {level}-level search attribute")
        wanted.append((tag, [v for v in value.replace("\\", ",").split(",") if v]))

    def matches(attributes: dict) -> bool:
        for tag, candidates in wanted:
            actual = _first_value(attributes, tag) or ""
            if not any(actual == c or (c.endswith("*") and actual.startswith(c[:-1]))
                       for c in candidates):
                return False
        return True

    return matches


def _paged(results: list[dict], query: dict[str, str]) -> list[dict]:
    try:
        offset = int(query.get("offset", 0))
        limit = int(query["limit"]) if "limit" in query else None
    except ValueError:
        raise invalid("QIDO-RS: limit and offset must be integers") from None
    return results[offset:offset + limit if limit is not None else None]


def search(instances: list[StoredInstance], level: str, query: dict[str, str],
           study: Optional[str] = None, series: Optional[str] = None) -> list[dict]:
    """QIDO-RS at ``level`` (study, series, instance) within optional study/series."""
    scope = [i for i in instances if (study is None or i.study_uid == study)
             and (series is None or i.series_uid == series)]
    matches = _matcher(query, level)
    groups: dict[str, list[StoredInstance]] = {}
    for instance in scope:
        key = {"study": instance.study_uid, "series": instance.series_uid,
               "instance": instance.sop_uid}[level]
        groups.setdefault(key, []).append(instance)
    results = []
    for members in groups.values():
        first = members[0]
        attributes = _attributes(first, _LEVEL_TAGS[level])
        if not matches(attributes):
            continue
        if level == "study":
            attributes["00201206"] = {"vr": "IS", "Value": [len({m.series_uid for m in members})]}
            attributes["00201208"] = {"vr": "IS", "Value": [len(members)]}
            modalities = sorted({_first_value(_attributes(m, SERIES_TAGS), "00080060") or ""
                                 for m in members} - {""})
            if modalities:
                attributes["00080061"] = {"vr": "CS", "Value": modalities}
            attributes = {k: v for k, v in attributes.items()
                          if k in STUDY_TAGS or k in ("00201206", "00201208", "00080061")}
        elif level == "series":
            attributes["00201209"] = {"vr": "IS", "Value": [len(members)]}
        results.append(dict(sorted(attributes.items())))
    return _paged(results, query)


def search_response(results: list[dict]) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": DICOM_JSON}, json.dumps(results).encode()


def retrieve(instances: list[StoredInstance], study: str, series: Optional[str] = None,
             sop: Optional[str] = None) -> tuple[int, dict[str, str], bytes]:
    """WADO-RS: the selected instances as ``multipart/related; type="application/dicom"``."""
    chosen = [i for i in instances if i.study_uid == study
              and (series is None or i.series_uid == series) and (sop is None or i.sop_uid == sop)]
    if not chosen:
        what = "instance" if sop else "series" if series else "study"
        raise not_found(f"DICOMweb: no such {what} in this DICOM store")
    boundary = secrets.token_hex(16)
    body = io.BytesIO()
    for instance in chosen:
        body.write(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        body.write(instance.data)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return 200, {"Content-Type": content_type}, body.getvalue()


def metadata(instances: list[StoredInstance], study: str, series: Optional[str] = None,
             sop: Optional[str] = None) -> tuple[int, dict[str, str], bytes]:
    """WADO-RS metadata: full headers in DICOM JSON."""
    chosen = [i for i in instances if i.study_uid == study
              and (series is None or i.series_uid == series) and (sop is None or i.sop_uid == sop)]
    if not chosen:
        raise not_found("DICOMweb: nothing matches in this DICOM store")
    return search_response([header_json(i.data) for i in chosen])


def handle(instances: list[StoredInstance], parts: list[str], query: dict[str, str]
           ) -> tuple[int, dict[str, str], bytes]:
    """Dispatch a path below ``.../dicomWeb/`` split on ``/``."""
    n = len(parts)
    if parts == ["studies"]:
        return search_response(search(instances, "study", query))
    if parts == ["series"]:
        return search_response(search(instances, "series", query))
    if parts == ["instances"]:
        return search_response(search(instances, "instance", query))
    if n >= 2 and parts[0] == "studies":
        study = parts[1]
        rest = parts[2:]
        if not rest:
            return retrieve(instances, study)
        if rest == ["metadata"]:
            return metadata(instances, study)
        if rest == ["series"]:
            return search_response(search(instances, "series", query, study))
        if rest == ["instances"]:
            return search_response(search(instances, "instance", query, study))
        if rest[0] == "series" and len(rest) >= 2:
            series = rest[1]
            tail = rest[2:]
            if not tail:
                return retrieve(instances, study, series)
            if tail == ["metadata"]:
                return metadata(instances, study, series)
            if tail == ["instances"]:
                return search_response(search(instances, "instance", query, study, series))
            if tail[0] == "instances" and len(tail) == 2:
                return retrieve(instances, study, series, tail[1])
            if tail[0] == "instances" and tail[2:] == ["metadata"]:
                return metadata(instances, study, series, tail[1])
    raise not_found(f"DICOMweb: unsupported path {'/'.join(parts)!r}")
