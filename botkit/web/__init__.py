"""The web side of botkit: health and metrics now; the admin console's pages build on it."""
