"""HTTP layer: middlewares, request bodies, routes."""
