"""Vector tiles of events (/v1/tiles/{z}/{x}/{y}.mvt): clusters counted by status at low zooms,
each event a point at high zooms, for maps that draw a million events without downloading
them. See docs/tiles.md."""
