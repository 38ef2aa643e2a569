"""OGC API - Features over the events, places and control ledger (docs/ogc.md). Its public
surface is its router; it uses the other domains through theirs."""
