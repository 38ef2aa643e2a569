"""The benchmark suite: our speed as ratios to PostgreSQL's own limits, in one run."""
