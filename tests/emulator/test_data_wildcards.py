"""Import URI wildcard rules (discovery doc, GoogleCloudHealthcareV1DicomGcsSource.uri)."""

from __future__ import annotations

import pytest

from healthcare_emulator.wildcards import listing_prefix, matches, parse_import_uri, validate_import_uri

VALID = [
    "gs://bucket/file.dcm",
    "gs://bucket/dir/sub/file.dcm",
    "gs://bucket/dir/*",
    "gs://bucket/dir/*.dcm",
    "gs://bucket/*/file.dcm",
    "gs://bucket/dir/file?.dcm",
    "gs://bucket/dir/??/*.dcm",
    "gs://bucket/**",
    "gs://bucket/dir/**",
    "gs://bucket/dir/**.dcm",
    "gs://bucket/dir**",
    "gs://my_bucket-1/a",
    "gs://my.dotted.bucket/a",
]

INVALID = [
    ("gs://bucket/dir/**/file.dcm", "end of the path"),
    ("gs://bucket/**/x", "end of the path"),
    ("gs://bucket/dir/***", "three or more"),
    ("gs://bucket/*/**", "other wildcards"),
    ("gs://bucket/dir/**.dc?", "other wildcards"),
    ("gs://bucket/d?r/**", "other wildcards"),
    ("gs://bucket/**/**", "only once"),
    ("gs://bucket/dir/**dcm", "extension"),
    ("gs:///file.dcm", "empty"),
    ("gs://Bad_Bucket/file.dcm", "lowercase"),
    ("gs://ab/file.dcm", "3 to 63"),
    ("gs://-bucket/x", "lowercase"),
    ("gs://" + "a" * 64 + "/x", "3 to 63"),
    ("gs://192.168.0.1/x", "IP address"),
    ("gs://bucket", "names no object"),
    ("gs://bucket/", "names no object"),
    ("s3://bucket/x", "Cloud Storage URI"),
    ("bucket/x", "Cloud Storage URI"),
    ("", "Cloud Storage URI"),
]


@pytest.mark.parametrize("uri", VALID)
def test_valid_uris_pass(uri):
    assert validate_import_uri(uri) is None
    assert parse_import_uri(uri).bucket == uri[len("gs://"):].split("/")[0]
    # the same URI under another scheme is refused: a validator that let everything
    # through could not pass this test
    with pytest.raises(ValueError, match="Cloud Storage URI"):
        validate_import_uri("s3://" + uri[len("gs://"):])


@pytest.mark.parametrize("uri,rule", INVALID)
def test_invalid_uris_name_the_rule(uri, rule):
    with pytest.raises(ValueError, match=rule):
        validate_import_uri(uri)


@pytest.mark.parametrize("uri,name,expected", [
    # '*' : 0+ non-separator characters
    ("gs://bkt/dir/*", "dir/a.dcm", True),
    ("gs://bkt/dir/*", "dir/", True),
    ("gs://bkt/dir/*", "dir/sub/a.dcm", False),
    ("gs://bkt/dir/*.dcm", "dir/x.dcm", True),
    ("gs://bkt/dir/*.dcm", "dir/x.txt", False),
    ("gs://bkt/*/f.dcm", "a/f.dcm", True),
    ("gs://bkt/*/f.dcm", "a/b/f.dcm", False),
    # '?' : exactly one character
    ("gs://bkt/f?.dcm", "f1.dcm", True),
    ("gs://bkt/f?.dcm", "f.dcm", False),
    ("gs://bkt/f?.dcm", "f12.dcm", False),
    ("gs://bkt/f?.dcm", "f/.dcm", False),
    # '**' : 0+ characters including '/'
    ("gs://bkt/dir/**", "dir/a", True),
    ("gs://bkt/dir/**", "dir/a/b/c.dcm", True),
    ("gs://bkt/dir/**", "other/a", False),
    ("gs://bkt/dir/**.dcm", "dir/a/b/c.dcm", True),
    ("gs://bkt/dir/**.dcm", "dir/c.dcm", True),
    ("gs://bkt/dir/**.dcm", "dir/a/c.txt", False),
    ("gs://bkt/**", "anything/at/all", True),
    # no wildcard: exactly one object
    ("gs://bkt/dir/a.dcm", "dir/a.dcm", True),
    ("gs://bkt/dir/a.dcm", "dir/a.dcm.bak", False),
    ("gs://bkt/dir/a.dcm", "dir/a", False),
    # regex metacharacters are literal
    ("gs://bkt/a+b(1).dcm", "a+b(1).dcm", True),
    ("gs://bkt/a.dcm", "aXdcm", False),
])
def test_matching(uri, name, expected):
    assert matches(uri, name) is expected


@pytest.mark.parametrize("uri,prefix,wild", [
    ("gs://bkt/dir/sub/*.dcm", "dir/sub/", True),
    ("gs://bkt/dir/f?x", "dir/f", True),
    ("gs://bkt/dir/**.dcm", "dir/", True),
    ("gs://bkt/**", "", True),
    ("gs://bkt/dir/file.dcm", "dir/file.dcm", False),
])
def test_listing_prefix(uri, prefix, wild):
    assert listing_prefix(uri) == prefix
    assert parse_import_uri(uri).has_wildcard is wild
