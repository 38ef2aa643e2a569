"""What a GeoJSON document must be (RFC 7946), for the types /ogc answers with: a
FeatureCollection of Features whose geometry is a Point (or null), checked with a JSON Schema
written from the RFC, not from the service's own OpenAPI schema."""

from typing import Any

import jsonschema_rs

# RFC 7946 §3.1.1: a position is two or more numbers, longitude then latitude.
_POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
_POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {"type": {"const": "Point"}, "coordinates": _POSITION},
}
_BBOX = {"type": "array", "minItems": 4, "items": {"type": "number"}}
# §3.2: a Feature has "geometry" (a geometry or null) and "properties" (an object or null);
# an "id", if any, is a string or a number.
FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"const": "Feature"},
        "id": {"type": ["string", "number"]},
        "geometry": {"oneOf": [{"type": "null"}, _POINT]},
        "properties": {"type": ["object", "null"]},
        "bbox": _BBOX,
    },
}
# §3.3: a FeatureCollection has "features", an array of Features.
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": FEATURE},
        "bbox": _BBOX,
    },
}
_FEATURE = jsonschema_rs.Draft202012Validator(FEATURE)
_FEATURE_COLLECTION = jsonschema_rs.Draft202012Validator(FEATURE_COLLECTION)


def _check_position(feature: dict[str, Any]) -> None:
    geometry = feature["geometry"]
    if geometry is not None:
        lon, lat = geometry["coordinates"][:2]
        # §4: WGS 84 longitude and latitude, in that order; no "crs" member any more.
        assert -180 <= lon <= 180, feature
        assert -90 <= lat <= 90, feature


def assert_feature(document: dict[str, Any]) -> None:
    """The document is a valid GeoJSON Feature."""
    _FEATURE.validate(document)
    assert "crs" not in document
    _check_position(document)


def assert_feature_collection(document: dict[str, Any]) -> None:
    """The document is a valid GeoJSON FeatureCollection."""
    _FEATURE_COLLECTION.validate(document)
    assert "crs" not in document
    for feature in document["features"]:
        assert "crs" not in feature
        _check_position(feature)
