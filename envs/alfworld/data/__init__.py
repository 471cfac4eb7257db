"""Data files of the ALFWorld env (floor-plan summaries); a package so that they install with it."""
