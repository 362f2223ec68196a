"""Shells that present results: terminal summary, output files, the self-contained HTML report."""
