"""The shapes of values SageMaker or HTTP would reject later: an image reference and a media
type. Checked at start-up, so a typo is a usage error, not a Failed deploy or a ModelError."""

from __future__ import annotations

import re

from pytest_smendpoint.settings.patterns import LazyPattern

# The Docker reference grammar (distribution/reference), which ECR and SageMaker follow:
# [registry[:port]/]path-component[/path-component...][:tag][@sha256:digest], each path
# component lowercase. SageMaker's ContainerDefinition.Image: at most 255 characters.
IMAGE_RULE = (
    "is not an image URI: [registry/]repository[:tag|@sha256:digest], "
    "repository in lowercase, no spaces (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/name:1)"
)
IMAGE_MAX_LENGTH = 255
_REGISTRY = LazyPattern(r"[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d+)?")
_PATH_COMPONENT = LazyPattern(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = LazyPattern(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST = LazyPattern(r"sha256:[a-f0-9]{64}")

# RFC 9110 media type: token "/" token *( OWS ";" OWS parameter ), parameter = token "="
# ( token / quoted-string ). A CR or LF can never match (it would split the Accept header).
MEDIA_TYPE_RULE = "is not a media type: type/subtype[;parameter=value], e.g. text/csv"
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = LazyPattern(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"(?:[^\"\\\r\n]|\\.)*\"))*"
)


def is_image_uri(value: str) -> bool:
    """`value` is an image reference a registry would accept (not whether it exists)."""
    if len(value) > IMAGE_MAX_LENGTH:
        return False
    name, at, digest = value.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return False
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:  # a tag (a colon before the last slash is a registry's port)
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            return False
    parts = name.split("/")
    # As Docker decides: a first component with a dot or a port, or localhost, is a registry.
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _REGISTRY.fullmatch(first):
            return False
        parts = parts[1:]
    return all(_PATH_COMPONENT.fullmatch(part) for part in parts)


def is_media_type(value: str) -> bool:
    """`value` is one media type with optional parameters, as an Accept header carries it."""
    return _MEDIA_TYPE.fullmatch(value) is not None
