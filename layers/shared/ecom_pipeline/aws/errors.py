"""How AWS errors are told apart: refusals worth retrying later vs. errors that need a person."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    """A HEAD on a missing key answers 404 with no code body; GETs answer NoSuchKey."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(error) in ("404", "NoSuchKey", "NotFound") or status == 404
