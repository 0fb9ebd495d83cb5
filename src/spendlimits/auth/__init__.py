"""Who is calling: API tokens and the principal they resolve to."""
